from __future__ import annotations

import re

import pytest
from packaging.version import Version

from mvpy_vendor.naming import dist_info_dir, renamed_dist_name, renamed_import_name, shared_namespace_name


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("foo", "1.0.0", "_mv_foo_1_0_0"),
        ("foo", "1.0.0rc1", "_mv_foo_1_0_0rc1"),
        ("Foo", "1.0.0.post2+local.7", "_mv_foo_1_0_0_post2_local_7"),
        ("foo", "1!2.0", "_mv_foo_1_2_0"),
        ("_private", "0.1", "_mv__private_0_1"),
    ],
)
def test_import_names(name: str, version: str, expected: str) -> None:
    assert renamed_import_name(name, Version(version)) == expected
    assert expected.isidentifier()


def test_dist_names() -> None:
    assert renamed_dist_name("foo", Version("1.0.0")) == "mv-foo-1-0-0"
    assert renamed_dist_name("Slow_Package", Version("0.1.0rc1")) == "mv-slow-package-0-1-0rc1"
    assert renamed_dist_name("foo", Version("1.0"), "_2") == "mv-foo-1-0-2"
    assert dist_info_dir("mv-foo-1-0-0", Version("1.0.0")) == "mv_foo_1_0_0-1.0.0.dist-info"


def test_shared_namespace_name() -> None:
    a = shared_namespace_name("google", ["mv-protobuf-3-20-3==3.20.3", "mv-googleapis-common-protos-1-56-4==1.56.4"])
    # the same for every sharer, whatever the order; another set of sharers, another name
    assert a == shared_namespace_name(
        "google", ["mv-googleapis-common-protos-1-56-4==1.56.4", "mv-protobuf-3-20-3==3.20.3"]
    )
    assert re.fullmatch(r"_mv_google_[0-9a-f]{10}", a) and a.isidentifier()
    assert a != shared_namespace_name("google", ["mv-protobuf-3-20-3==3.20.3"])
    assert shared_namespace_name("google", ["x"], "_2") == shared_namespace_name("google", ["x"]) + "_2"
