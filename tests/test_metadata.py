from __future__ import annotations

import pytest

from mvpy_vendor.rewrite.metadata import (
    rewrite_entry_points,
    rewrite_metadata,
    rewrite_namespace_packages,
    rewrite_pth,
    rewrite_top_level,
)
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


# setuptools' -nspkg.pth line (protobuf 3.20.3's, as shipped)
NSPKG = (
    b"import sys, types, os;has_mfs = sys.version_info > (3, 5);p = os.path.join(sys._getframe(1)"
    b".f_locals['sitedir'], *('google', 'logging'));importlib = has_mfs and __import__('importlib.util');"
    b"has_mfs and __import__('importlib.machinery');m = has_mfs and sys.modules.setdefault('google.logging', "
    b"importlib.util.module_from_spec(importlib.machinery.PathFinder.find_spec('google.logging', "
    b"[os.path.dirname(p)])));m = m or sys.modules.setdefault('google.logging', types.ModuleType("
    b"'google.logging'));mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and "
    b"mp.append(p);m and setattr(sys.modules['google'], 'logging', m)\n"
)


@pytest.mark.parametrize("strings", [True, False])
def test_nspkg_pth_is_rewritten_completely(strings: bool) -> None:
    # keep-strings or not, and although 'google.logging' is a bare subpackage path (which the
    # namespace's string rule keeps in Python files), every name in the line moves together.
    names = NameMap({"google": "_mv_google_x"}, strings=strings, modules={"google": ("google.", "google.logging.")})
    new = rewrite_pth(NSPKG, names)
    assert b"google" not in new.replace(b"_mv_google_x", b"")
    assert new == NSPKG.replace(b"'google", b"'_mv_google_x")


def test_namespace_packages_txt() -> None:
    names = NameMap({"google": "_mv_google_x"})
    assert rewrite_namespace_packages("google\ngoogle.logging\ngoogler\n", names) == (
        "_mv_google_x\n_mv_google_x.logging\ngoogler\n"
    )
