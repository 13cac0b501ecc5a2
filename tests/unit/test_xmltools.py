"""The XML editor's helpers (diffs, the identity guard) and clones that can be defined."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from tuivirt import xmltools
from tuivirt.clone import DiskRef, clone_domain, clone_network
from tuivirt.xmltools import identity_problem, unified_diff

UUID = "6c2d2c1e-6f0a-4d5e-9b0e-0c7a3b1f2e11"

QEMU = f"""<domain type='kvm'>
  <name>web</name>
  <uuid>{UUID}</uuid>
  <title>Web frontend</title>
  <!-- sized for the staging load -->
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/iso/debian-12.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='data' volume='web-data'/>
      <target dev='vdb' bus='virtio'/>
      <shareable/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sdb' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:6b:3c:58'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <source bridge='br0'/>
      <mac address='52:54:00:aa:bb:cc'/>
    </interface>
    <graphics type='vnc' port='-1' autoport='yes'/>
  </devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'>
    <label>system_u:system_r:svirt_t:s0:c1,c2</label>
    <imagelabel>system_u:object_r:svirt_image_t:s0:c1,c2</imagelabel>
  </seclabel>
  <seclabel type='static' model='dac' relabel='no'>
    <label>+107:+107</label>
  </seclabel>
</domain>
"""

LXC = """<domain type='lxc'>
  <name>box</name>
  <uuid>0b7c6b38-8f8e-4c2e-a1a6-2f4f6c3a9d01</uuid>
  <memory unit='KiB'>524288</memory>
  <os>
    <type arch='x86_64'>exe</type>
    <init>/sbin/init</init>
  </os>
  <devices>
    <filesystem type='mount' accessmode='passthrough'>
      <source dir='/var/lib/lxc/box/rootfs'/>
      <target dir='/'/>
    </filesystem>
    <filesystem type='mount'>
      <source dir='/srv/shared'/>
      <target dir='/mnt/shared'/>
      <readonly/>
    </filesystem>
    <interface type='network'>
      <mac address='00:16:3e:11:22:33'/>
      <source network='default'/>
    </interface>
    <console type='pty'/>
  </devices>
</domain>
"""

NETWORK = """<network>
  <name>default</name>
  <uuid>9a05da11-e96b-47f3-8253-a3a482e445f5</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:0a:cd:21'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.100' end='192.168.122.199'/>
      <host mac='52:54:00:6b:3c:58' name='web' ip='192.168.122.10'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00:122::1' prefix='64'/>
</network>
"""


def c14n(text: str) -> bytes:
    """The canonical form: quote style aside, formatting and comments count."""
    return etree.tostring(xmltools.parse(text), method="c14n")


def without_lines(text: str, *fragments: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not any(f in line for f in fragments))


# --- clone_domain -------------------------------------------------------------------

def test_clone_qemu_domain_changes_only_identity() -> None:
    result = clone_domain(QEMU, "web-copy")
    expected = without_lines(QEMU, "<uuid>", "<mac ", "<label>system_u", "<imagelabel>")
    expected = expected.replace("<name>web</name>", "<name>web-copy</name>")
    expected = expected.replace("relabel='yes'>\n  </seclabel>", "relabel='yes'/>")
    assert c14n(result.xml) == c14n(expected)
    assert "<!-- sized for the staging load -->" in result.xml
    assert result.xml.endswith("</domain>\n")
    assert "web.qcow2" in result.xml  # the caller copies it, the clone keeps the path
    assert xmltools.check_well_formed(result.xml) is None


def test_clone_lists_every_disk_with_its_source() -> None:
    assert clone_domain(QEMU, "web-copy").disks == (
        DiskRef("vda", "disk", "/var/lib/libvirt/images/web.qcow2", shared=False),
        DiskRef("sda", "cdrom", "/srv/iso/debian-12.iso", shared=True),
        DiskRef("vdb", "disk", "data/web-data", shared=True),
        DiskRef("sdb", "cdrom", "", shared=True),
    )


def test_clone_keeps_static_labels() -> None:
    root = xmltools.parse(clone_domain(QEMU, "web-copy").xml)
    dynamic, static = root.findall("seclabel")
    assert len(dynamic) == 0 and dynamic.get("relabel") == "yes"
    assert static.findtext("label") == "+107:+107"


def test_clone_gets_fresh_smbios_uuid_genid_and_lists_nvram() -> None:
    xml = QEMU.replace("  <os>\n", "  <genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90d</genid>\n"
                       "  <sysinfo type='smbios'>\n    <system>\n"
                       f"      <entry name='uuid'>{UUID}</entry>\n"
                       "      <entry name='serial'>S1</entry>\n    </system>\n"
                       "  </sysinfo>\n  <os>\n"
                       "    <nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram>\n")
    result = clone_domain(xml, "web-copy")
    root = xmltools.parse(result.xml)
    assert UUID not in result.xml
    assert [e.get("name") for e in root.findall("sysinfo/system/entry")] == ["serial"]
    genid = root.find("genid")
    assert genid is not None and not genid.text
    assert result.disks[-1] == DiskRef("nvram", "nvram",
                                       "/var/lib/libvirt/qemu/nvram/web_VARS.fd", False)


def test_clone_lxc_domain_reports_filesystems() -> None:
    result = clone_domain(LXC, "box2")
    root = xmltools.parse(result.xml)
    assert root.findtext("name") == "box2"
    assert root.find("uuid") is None and not root.findall(".//mac")
    assert result.disks == (
        DiskRef("/", "filesystem", "/var/lib/lxc/box/rootfs", shared=False),
        DiskRef("/mnt/shared", "filesystem", "/srv/shared", shared=True),
    )
    expected = without_lines(LXC, "<uuid>", "<mac ").replace("<name>box<", "<name>box2<")
    assert c14n(result.xml) == c14n(expected)


def test_clone_keeps_declaration_and_closing_indentation() -> None:
    xml = ("<?xml version='1.0' encoding='UTF-8'?>\n<domain type='kvm'>\n  <name>a</name>\n"
           "  <memory>1</memory>\n  <uuid>x</uuid>\n</domain>")
    assert clone_domain(xml, "b").xml == (
        "<?xml version='1.0' encoding='UTF-8'?>\n<domain type=\"kvm\">\n  <name>b</name>\n"
        "  <memory>1</memory>\n</domain>")


@pytest.mark.parametrize(("name", "fragment"), [
    ("", "needs a name"),
    ("   ", "needs a name"),
    ("a/b", "'/'"),
    ("a\nb", "control characters"),
    ("a\x00", "control characters"),
    ("web", "other than the original"),
])
def test_clone_refuses_bad_names(name: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        clone_domain(QEMU, name)


def test_clone_refuses_what_is_not_a_domain() -> None:
    with pytest.raises(ValueError, match="expected a <domain>"):
        clone_domain(NETWORK, "x")
    with pytest.raises(ValueError, match="not well-formed"):
        clone_domain("<domain>", "x")


# --- identity_problem ---------------------------------------------------------------

def test_fine_edit_has_no_identity_problem() -> None:
    edited = QEMU.replace("2097152", "4194304")
    assert identity_problem(QEMU, edited, "domain") is None
    # libvirt reads uuids without regard to dashes or case
    assert identity_problem(QEMU, QEMU.replace(UUID, UUID.upper().replace("-", "")),
                            "domain") is None


def test_name_change_is_an_identity_problem() -> None:
    problem = identity_problem(QEMU, QEMU.replace("<name>web<", "<name>web2<"), "domain")
    assert problem == ("the name changed from 'web' to 'web2': libvirt would see a "
                       "different guest; put the name back, or use clone to copy it "
                       "under a new name")
    assert "the <name> is missing" in str(identity_problem(
        QEMU, QEMU.replace("<name>web</name>", ""), "domain"))


def test_uuid_removed_or_changed_is_an_identity_problem() -> None:
    removed = identity_problem(QEMU, QEMU.replace(f"<uuid>{UUID}</uuid>", ""), "domain")
    assert removed is not None
    assert "<uuid> was removed" in removed and UUID in removed
    other = "11111111-2222-3333-4444-555555555555"
    changed = identity_problem(QEMU, QEMU.replace(UUID, other), "domain")
    assert changed is not None
    assert f"changed from {UUID} to {other}" in changed


def test_pasting_another_kind_is_an_identity_problem() -> None:
    problem = identity_problem(QEMU, NETWORK, "domain")
    assert problem is not None
    assert "expected a <domain>" in problem and "<network>" in problem
    problem = identity_problem(NETWORK, QEMU, "network")
    assert problem is not None and "expected a <network>" in problem
    assert "different network" in str(identity_problem(
        NETWORK, NETWORK.replace("<name>default<", "<name>lab<"), "network"))


@pytest.mark.parametrize("edited", [
    "", "garbage", "<domain>", "<domain><name>x</domain>", "\udcff<domain/>",
    "\ud800", "<domain>\ud800</domain>", "<?xml version='1.0' encoding='bogus'?><domain/>",
])
def test_identity_problem_leaves_unparsable_text_to_the_syntax_check(edited: str) -> None:
    assert identity_problem(QEMU, edited, "domain") is None
    assert identity_problem(edited, QEMU, "domain") is None


def test_identity_problem_does_not_expand_entities() -> None:
    xxe = QEMU.replace("<domain type='kvm'>",
                       "<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/hostname'>]>\n"
                       "<domain type='kvm'>").replace("<name>web<", "<name>&e;<")
    assert "the <name> is missing" in str(identity_problem(QEMU, xxe, "domain"))


SPLICED = st.builds(lambda at, text: QEMU[:at] + text + QEMU[at:],
                    st.integers(0, len(QEMU)), st.text())
FROM_BYTES = st.binary().map(lambda b: b.decode("utf-8", "surrogateescape"))


@given(st.one_of(st.text(), FROM_BYTES, SPLICED))
def test_identity_problem_and_well_formed_check_never_raise(text: str) -> None:
    identity_problem(QEMU, text, "domain")
    identity_problem(text, QEMU, "network")
    xmltools.check_well_formed(text)


LONE_SURROGATES = st.text(st.one_of(st.characters(), st.characters(
    min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())))


@given(st.one_of(LONE_SURROGATES, st.builds(lambda at, text: QEMU[:at] + text + QEMU[at:],
                                            st.integers(0, len(QEMU)), LONE_SURROGATES)))
def test_identity_problem_survives_any_editor_buffer(text: str) -> None:
    identity_problem(QEMU, text, "domain")


# --- clone_network ------------------------------------------------------------------

def ip4(xml: str) -> etree._Element:
    ip = xmltools.parse(xml).find("ip")
    assert ip is not None
    return ip


def test_clone_network_without_bridge_lets_libvirt_pick_one() -> None:
    xml = clone_network(NETWORK, "lab", None, None)
    root = xmltools.parse(xml)
    assert root.findtext("name") == "lab"
    assert root.find("uuid") is None and root.find("mac") is None
    bridge = root.find("bridge")
    assert bridge is not None and bridge.get("name") is None
    assert bridge.get("stp") == "on"  # the rest of <bridge> stays
    assert ip4(xml).get("address") == "192.168.122.1"  # no cidr: no renumbering


def test_clone_network_sets_or_adds_the_bridge() -> None:
    bridge = xmltools.parse(clone_network(NETWORK, "lab", "virbr9", None)).find("bridge")
    assert bridge is not None and bridge.get("name") == "virbr9"
    bare = "<network>\n  <name>iso</name>\n  <ip address='10.0.0.1' prefix='24'/>\n</network>"
    xml = clone_network(bare, "iso2", "br-iso2", None)
    assert xml == ("<network>\n  <name>iso2</name>\n  <bridge name=\"br-iso2\"/>\n"
                   "  <ip address=\"10.0.0.1\" prefix=\"24\"/>\n</network>")


def test_clone_of_host_bridge_network_keeps_the_host_bridge() -> None:
    xml = ("<network><name>lan</name><forward mode='bridge'/><bridge name='br0'/>"
           "</network>")
    bridge = xmltools.parse(clone_network(xml, "lan2", None, None)).find("bridge")
    assert bridge is not None and bridge.get("name") == "br0"


def test_clone_network_to_a_wider_net_keeps_dhcp_offsets() -> None:
    ip = ip4(clone_network(NETWORK, "lab", None, "10.20.0.0/16"))
    assert (ip.get("address"), ip.get("prefix"), ip.get("netmask")) == ("10.20.0.1", "16",
                                                                          None)
    dhcp = ip.find("dhcp")
    assert dhcp is not None
    assert [(r.get("start"), r.get("end")) for r in dhcp.findall("range")] == [
        ("10.20.0.100", "10.20.0.199")]
    assert dhcp.find("host") is None  # the old static lease is gone


def test_clone_network_to_another_24_normalises_the_cidr() -> None:
    xml = clone_network(NETWORK, "lab", "virbr9", "192.168.150.77/24")
    ip = ip4(xml)
    assert (ip.get("address"), ip.get("prefix")) == ("192.168.150.1", "24")
    r = ip.find("dhcp/range")
    assert r is not None and (r.get("start"), r.get("end")) == ("192.168.150.100",
                                                               "192.168.150.199")
    v6 = xmltools.parse(xml).findall("ip")[1]
    assert v6.get("address") == "fd00:122::1"  # another family: untouched


def test_clone_network_to_a_narrower_net_spans_it() -> None:
    r = ip4(clone_network(NETWORK, "lab", None, "10.9.9.0/25")).find("dhcp/range")
    assert r is not None and (r.get("start"), r.get("end")) == ("10.9.9.2", "10.9.9.126")


def test_clone_network_ipv6() -> None:
    xml = clone_network(NETWORK, "lab", None, "fd00:150::/64")
    v4, v6 = xmltools.parse(xml).findall("ip")
    assert v4.get("address") == "192.168.122.1"
    assert (v6.get("address"), v6.get("prefix")) == ("fd00:150::1", "64")


@pytest.mark.parametrize(("bridge", "cidr", "fragment"), [
    ("", None, "1 to 15"),
    ("a-very-long-bridge", None, "1 to 15"),
    ("br 0", None, "spaces"),
    ("br/0", None, "'/'"),
    (None, "192.168.300.0/24", "CIDR"),
    (None, "10.0.0.0", "CIDR"),
    (None, "nonsense/8", "CIDR"),
    (None, "10.0.0.0/31", "too small"),
    (None, "fd00::/64x", "CIDR"),
])
def test_clone_network_refuses_bad_bridge_or_cidr(bridge: str | None, cidr: str | None,
                                                  fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        clone_network(NETWORK, "lab", bridge, cidr)


def test_clone_network_cidr_needs_an_ip_of_that_family() -> None:
    xml = "<network><name>n</name><ip address='10.0.0.1' prefix='24'/></network>"
    with pytest.raises(ValueError, match="no ipv6"):
        clone_network(xml, "n2", None, "fd00::/64")


# --- unified_diff -------------------------------------------------------------------

def test_diff_of_equal_texts_is_empty() -> None:
    assert unified_diff(QEMU, QEMU, "a", "b") == ""


def test_diff_shows_the_changed_line() -> None:
    diff = unified_diff(QEMU, QEMU.replace("<vcpu placement='static'>2", "<vcpu>4"),
                        "web (defined)", "web (edited)")
    lines = diff.splitlines()
    assert lines[:2] == ["--- web (defined)", "+++ web (edited)"]
    assert "-  <vcpu placement='static'>2</vcpu>" in lines
    assert "+  <vcpu>4</vcpu>" in lines
    assert sum(line.startswith(("-", "+")) for line in lines) == 4


def test_diff_never_glues_lines_without_a_final_newline() -> None:
    diff = unified_diff("a\nb", "a\nc\n", "old", "new")
    assert "-b\n\\ No newline at end of file\n+c\n" in diff
    assert unified_diff("a\n", "a", "old", "new") != ""  # only the newline changed


def test_diff_splits_on_newlines_only() -> None:
    diff = unified_diff("a\x0cb\n", "a\x0cc\n", "old", "new")
    assert "-a\x0cb\n+a\x0cc\n" in diff

