from __future__ import annotations

from mvpy_vendor.rewrite.metadata import rewrite_entry_points, rewrite_metadata, rewrite_pth, rewrite_top_level
from mvpy_vendor.rewrite.names import NameMap

NAMES = NameMap({"foo": "_mv_foo_1_0_0"})

METADATA = """\
Metadata-Version: 2.1
Name: slow-package
Version: 0.1.0
Requires-Dist: foo>=1,<2
Requires-Dist: other ; python_version < "3"
Requires-Dist: foo[speed]<2 ; extra == "fast"
Description-Content-Type: text/markdown

Name: this is the body, not a header
Requires-Dist: foo>=1,<2
"""


def test_metadata_rewrites_name_and_listed_requirements_only() -> None:
    out = rewrite_metadata(METADATA, "mv-slow-package-0-1-0", {"foo<2,>=1": "mv-foo-1-0-0==1.0.0"})
    assert out == METADATA.replace("Name: slow-package", "Name: mv-slow-package-0-1-0").replace(
        "Requires-Dist: foo>=1,<2\nRequires-Dist: other", "Requires-Dist: mv-foo-1-0-0==1.0.0\nRequires-Dist: other"
    )
    assert out.endswith("Name: this is the body, not a header\nRequires-Dist: foo>=1,<2\n")


def test_metadata_keeps_crlf() -> None:
    text = "Name: foo\r\nVersion: 1\r\nRequires-Dist: bar\r\n\r\n"
    assert rewrite_metadata(text, "mv-foo-1", {"bar": "mv-bar-2==2"}) == (
        "Name: mv-foo-1\r\nVersion: 1\r\nRequires-Dist: mv-bar-2==2\r\n\r\n"
    )


ENTRY_POINTS = """\
[console_scripts]
foo = foo.cli:main

[foo.backends]
default = foo.backends.default:Backend [extra]
other=thirdparty.mod:obj
; a comment = foo.x:y
"""


def test_entry_points_of_a_renamed_copy() -> None:
    result = rewrite_entry_points(ENTRY_POINTS, NAMES, drop_scripts=True)
    assert result.dropped_scripts == ("console_scripts: foo",)
    assert result.text == (
        "[foo.backends]\n"
        "default = _mv_foo_1_0_0.backends.default:Backend [extra]\n"
        "other=thirdparty.mod:obj\n"
        "; a comment = foo.x:y\n"
    )


def test_entry_points_of_a_consumer_keep_scripts() -> None:
    result = rewrite_entry_points(ENTRY_POINTS, NAMES, drop_scripts=False)
    assert result.dropped_scripts == ()
    assert "foo = _mv_foo_1_0_0.cli:main\n" in result.text


def test_top_level_and_pth() -> None:
    assert rewrite_top_level("foo\nfoobar\n", NAMES) == "_mv_foo_1_0_0\nfoobar\n"
    pth = b"foo/lib\nimport foo.hook; foo.hook.run()\n# foo comment\nother\n"
    assert rewrite_pth(pth, NAMES) == (
        b"_mv_foo_1_0_0/lib\n"
        # site.py executes a .pth line only if it starts with "import".
        b'import sys; foo = __import__("_mv_foo_1_0_0.hook"); foo.hook.run()\n'
        b"# foo comment\nother\n"
    )
