"""Storage without a daemon: sizes as typed and shown, the guests that use a volume, the
XML of a new volume, and the names a volume may take."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuivirt import xmltools
from tuivirt.backends.libvirt.storage import disk_sources, volume_record, volume_users, volume_xml
from tuivirt.session.storage import volume_name_problem
from tuivirt.sizes import SizeError, human_size, parse_size


@pytest.mark.parametrize(("text", "size"), [
    ("2G", 2 * 2**30), ("2g", 2 * 2**30), ("2GiB", 2 * 2**30), ("2 GiB", 2 * 2**30),
    ("4GB", 4 * 10**9), ("512M", 512 * 2**20), ("1.5T", 3 * 2**39), ("10K", 10240),
    ("1048576", 2**20), ("512b", 512), ("7 bytes", 7), ("0.5K", 512), (".5M", 2**19),
    ("1E", 2**60), ("3MB", 3 * 10**6),
])
def test_sizes_parse_like_virsh(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "words"), [
    ("", "does not parse"), ("G", "does not parse"), ("2X", "unknown unit 'X'"),
    ("-1G", "does not parse"), ("1,5G", "does not parse"), ("2GG", "unknown unit 'GG'"),
    ("0.3K", "not a whole number of bytes"), ("1e9", "does not parse"),
    ("2 G B", "does not parse"),
])
def test_sizes_that_do_not_parse_say_what_would(text: str, words: str) -> None:
    with pytest.raises(SizeError) as caught:
        parse_size(text)
    assert words in str(caught.value)
    if "unit" in words or "parse" in words:
        assert "512M, 2G" in str(caught.value)  # the forms that work


@given(st.integers(min_value=0, max_value=2**62))
def test_a_bare_number_of_bytes_round_trips(size: int) -> None:
    assert parse_size(str(size)) == size


@pytest.mark.parametrize(("size", "shown"), [
    (None, "-"), (0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"),
    (2 * 2**30, "2 GiB"), (270553174016, "252 GiB"), (24119640064, "22.5 GiB"),
    (900 * 2**40, "900 TiB"), (2**70, "1024 EiB"),
])
def test_human_sizes(size: int | None, shown: str) -> None:
    assert human_size(size) == shown


DOMAIN = """<domain type='kvm'>
  <name>web</name>
  <devices>
    <disk type='file' device='disk'>
      <source file='/pool/a/../web.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='/pool/base.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda'/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='tvlab' volume='data'/>
      <target dev='vdb'/>
    </disk>
    <disk type='block' device='disk'><source dev='/dev/vg/lv1'/><target dev='vdc'/></disk>
    <disk type='file' device='cdrom'><target dev='sda'/></disk>
    <interface type='network'><source network='default'/></interface>
    <filesystem type='mount'><source dir='/pool/tree'/><target dir='/'/></filesystem>
  </devices>
</domain>"""


def test_disk_sources_cover_files_devices_volumes_backing_chains_and_filesystems() -> None:
    paths, volumes = disk_sources(DOMAIN)
    # Normalised, so /pool/a/../web.qcow2 matches the volume's path /pool/web.qcow2.
    assert paths == {"/pool/web.qcow2", "/pool/base.qcow2", "/dev/vg/lv1", "/pool/tree"}
    assert volumes == {("tvlab", "data")}  # the network's <source> is not a disk


def test_volume_users_match_by_path_and_by_pool_and_volume() -> None:
    other = """<domain type='qemu'><name>db</name><devices>
      <disk type='file'><source file='/pool/data'/></disk>
      <disk type='volume'><source pool='elsewhere' volume='web.qcow2'/></disk>
    </devices></domain>"""
    # A disk added to the persistent definition of a running guest counts too.
    next_boot = """<domain type='qemu'><name>cache</name><devices>
      <disk type='volume'><source pool='tvlab' volume='spare'/></disk>
    </devices></domain>"""
    live = "<domain type='qemu'><name>cache</name><devices/></domain>"
    domains = [("web", [DOMAIN]), ("db", [other]), ("cache", [live, next_boot])]
    volumes = [("web.qcow2", "/pool/web.qcow2"), ("base.qcow2", "/pool/base.qcow2"),
               ("data", "/pool/data"), ("spare", "/pool/spare"), ("free", "/pool/free")]
    assert volume_users(domains, "tvlab", volumes) == {
        "web.qcow2": ("web",),  # by path; db's same-named volume is in another pool
        "base.qcow2": ("web",),  # a backing file under web's disk
        "data": ("db", "web"),  # db by path, web by pool and volume: sorted, once each
        "spare": ("cache",),
        "free": (),
    }


def test_volume_users_on_a_pool_with_the_same_volume_name_elsewhere() -> None:
    volumes = [("web.qcow2", "/other/web.qcow2")]
    assert volume_users([("web", [DOMAIN])], "elsewhere", volumes) == {"web.qcow2": ()}


def test_volume_xml_is_sparse_and_names_its_backing_file() -> None:
    xml = volume_xml("disk <1>", 2 * 2**30, "qcow2", "/pool/base&1.img")
    root = xmltools.parse(xml)
    assert root.findtext("name") == "disk <1>"  # escaped by lxml, not by hand
    assert root.find("capacity").get("unit") == "bytes"
    assert root.findtext("capacity") == str(2 * 2**30)
    assert root.findtext("allocation") == "0"
    assert root.find("target/format").get("type") == "qcow2"
    assert root.findtext("backingStore/path") == "/pool/base&1.img"
    assert xmltools.parse(volume_xml("raw1", 1, "raw")).find("backingStore") is None


def test_volume_record_reads_libvirts_volume_xml() -> None:
    xml = """<volume type='file'><name>v</name><key>/p/v</key>
      <capacity unit='bytes'>2097152</capacity><allocation unit='KiB'>196</allocation>
      <target><path>/p/v</path><format type='qcow2'/></target>
      <backingStore><path>/p/base</path><format type='raw'/></backingStore></volume>"""
    volume = volume_record("local", "tvlab", xml)
    assert (volume.name, volume.path, volume.format, volume.backing) == (
        "v", "/p/v", "qcow2", "/p/base")
    assert (volume.capacity, volume.allocation) == (2097152, 196 * 1024)


@pytest.mark.parametrize(("name", "problem"), [
    ("", "is not a volume name"), ("..", "is not a volume name"),
    ("a/b", "cannot hold '/'"), ("a\x1bb", "control characters"),
])
def test_volume_names_that_are_refused(name: str, problem: str) -> None:
    found = volume_name_problem(name)
    assert found is not None and problem in found
    assert volume_name_problem("tvtest-vol-0a1b.qcow2") is None
