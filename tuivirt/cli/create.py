"""Making guests: `create vm`, `create options`.

`create` is a group of kinds: each kind registers its own subparser (a function per
kind below, listed in KINDS) and the function that runs it, so more kinds (an LXC
container, a Docker container) are added beside the VM ones without touching them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from tuivirt.cli import create_ct
from tuivirt.cli.common import EXIT_OK, UsageError, check_host, open_fleet
from tuivirt.cli.output import print_json, print_table, say, warn
from tuivirt.config import Config
from tuivirt.errors import HostError
from tuivirt.sizes import SizeError, human_size, parse_size


def register(sub: Any) -> None:
    p = sub.add_parser("create", help="make a guest (a VM, an LXC container, a Docker "
                       "container), or list what a host offers")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for register_kind in KINDS:
        register_kind(kinds)


def _connect(fleet: Any, host: str) -> Any:
    errors = fleet.connect([host])
    if errors:
        raise HostError(host, errors[host])
    return fleet.session(host)


# -- create vm ------------------------------------------------------------------------------
def register_vm(kinds: Any) -> None:
    v = kinds.add_parser(
        "vm", help="a QEMU/KVM VM of any architecture the host offers",
        description="Define a VM from a disk image, a volume, a new volume and/or a "
                    "kernel + initrd, with a serial console `tuivirt console` reaches at "
                    "once. KVM when the host offers it for the architecture, else TCG.")
    v.add_argument("host", metavar="HOST")
    v.add_argument("name", metavar="NAME")
    v.add_argument("--arch", help="x86_64, aarch64, armv7l... (default: the host's own)")
    v.add_argument("--machine", help="machine type (default: pc on x86, virt on arm)")
    v.add_argument("--vcpus", type=int, default=1, help="default 1")
    v.add_argument("--memory", default="512M",
                   help="512M, 1G... (a bare number is MiB; default 512M)")
    disk = v.add_mutually_exclusive_group()
    disk.add_argument("--disk", metavar="PATH", help="an existing image on the host")
    disk.add_argument("--volume", metavar="POOL/VOL", help="an existing volume")
    disk.add_argument("--new-volume", metavar="POOL:SIZE[:BACKING]",
                      help="a new qcow2 volume NAME.qcow2 (optionally over a backing "
                           "image); removed again if a later step fails")
    v.add_argument("--kernel", metavar="PATH", help="boot this kernel directly")
    v.add_argument("--initrd", metavar="PATH", help="with --kernel")
    v.add_argument("--cmdline", default="", help="kernel command line (console=... is "
                   "added for the serial console when missing)")
    net = v.add_mutually_exclusive_group()
    net.add_argument("--network", metavar="NAME", help="a libvirt network of the host")
    net.add_argument("--bridge", metavar="BR", help="a bridge of the host")
    net.add_argument("--no-network", action="store_true", help="no network (the default)")
    v.add_argument("--print", action="store_true", dest="print_only",
                   help="print the definition; define nothing")
    v.add_argument("--start", action="store_true", help="start it once defined")
    v.set_defaults(func=cmd_create_vm)


def _memory_mib(text: str) -> int:
    try:
        size = int(text) * 2**20 if text.strip().isdigit() else parse_size(text)
    except SizeError as exc:
        raise UsageError(f"--memory: {exc}") from None
    if size % 2**20:
        raise UsageError(f"--memory {text}: not a whole number of MiB")
    return size // 2**20


def vm_spec(args: argparse.Namespace) -> Any:
    """The VMSpec the flags describe (UsageError for what argparse cannot see)."""
    from tuivirt.create.vm import DiskPath, KernelBoot, NewVolume, Nic, PoolVolume, VMSpec

    disk: Any = None
    if args.disk:
        disk = DiskPath(args.disk)
    elif args.volume:
        pool, _slash, name = args.volume.partition("/")
        if not pool or not name:
            raise UsageError(f"--volume {args.volume}: expected POOL/VOL")
        disk = PoolVolume(pool, name)
    elif args.new_volume:
        parts = args.new_volume.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise UsageError(f"--new-volume {args.new_volume}: expected POOL:SIZE[:BACKING]")
        try:
            size = parse_size(parts[1])
        except SizeError as exc:
            raise UsageError(f"--new-volume: {exc}") from None
        if size <= 0:
            raise UsageError("--new-volume: the size must be more than 0 bytes")
        disk = NewVolume(parts[0], size, backing=parts[2] if len(parts) > 2 else None)
    if (args.initrd or args.cmdline) and not args.kernel:
        raise UsageError("--initrd and --cmdline go with --kernel")
    kernel = KernelBoot(args.kernel, args.initrd, args.cmdline) if args.kernel else None
    if disk is None and kernel is None:
        raise UsageError("something to boot is needed: --disk, --volume, --new-volume "
                         "or --kernel")
    network = (Nic("network", args.network) if args.network else
               Nic("bridge", args.bridge) if args.bridge else None)
    return VMSpec(host=args.host, name=args.name, arch=args.arch, machine=args.machine,
                  vcpus=args.vcpus, memory_mib=_memory_mib(args.memory), disk=disk,
                  kernel=kernel, network=network)


def cmd_create_vm(args: argparse.Namespace, config: Config) -> int:
    from tuivirt.create.vm import InvalidSpec

    check_host(config, args.host)
    if args.print_only and args.start:
        raise UsageError("--print defines nothing: it cannot --start")
    spec = vm_spec(args)
    fleet = open_fleet(config)
    try:
        session = _connect(fleet, args.host)
        try:
            created = session.create_vm(spec, start=args.start, print_only=args.print_only)
        except InvalidSpec as exc:
            raise UsageError(str(exc)) from None
    finally:
        fleet.close()
    if args.print_only:
        for note in created.notes:
            warn(note)
        sys.stdout.write(created.xml)  # byte for byte, as dumpxml
        return EXIT_OK
    for note in created.notes:
        say(f"  {note}")
    if created.volume is not None:
        vol = created.volume
        say(f"{args.host}/{vol.pool}/{vol.name}: created ({vol.format or '-'}, "
            f"{human_size(vol.capacity)}) at {vol.path}")
    guest = created.guest
    say(f"{args.host}/{guest.name}: defined ({guest.kind}, {guest.arch or '-'}, "
        f"{guest.vcpus} vCPU, {guest.memory_mib} MiB)")
    if created.started:
        say(f"{args.host}/{guest.name}: started; its console: tuivirt console "
            f"{args.host}/{guest.name}")
    return EXIT_OK


# -- create options -------------------------------------------------------------------------
def register_options(kinds: Any) -> None:
    o = kinds.add_parser("options", help="what a host offers a new VM: architectures, "
                         "machines, KVM or TCG, CPU models")
    o.add_argument("host", metavar="HOST")
    o.add_argument("--json", action="store_true", help="every machine and CPU model")
    o.set_defaults(func=cmd_create_options)


def cmd_create_options(args: argparse.Namespace, config: Config) -> int:
    check_host(config, args.host)
    fleet = open_fleet(config)
    try:
        options = _connect(fleet, args.host).vm_options()
    finally:
        fleet.close()
    if args.json:
        print_json(options.to_json())
        return EXIT_OK
    if not options.archs:
        warn(f"host {args.host}: its libvirt offers no architecture for VMs")
        return EXIT_OK
    rows = [["ARCH", "VIRT", "MACHINE", "CONSOLE", "CPU", "MACHINES", "EMULATOR"]]
    for arch in options.archs:
        cpu = arch.default_cpu()
        rows.append([arch.arch + (" *" if arch.arch == options.host_arch else ""),
                     "kvm" if arch.kvm else "tcg", arch.default_machine or "-",
                     arch.serial_device, cpu.describe() if cpu else "default",
                     str(len(arch.machine_names())), arch.emulator or "-"])
    print_table(rows, sys.stdout)
    say("* the host's own architecture; tcg: emulated (no KVM for it on this host); "
        "--json lists every machine and CPU model")
    if options.kvm_problem:
        say(f"KVM is not used on {args.host}: {options.kvm_problem}")
    return EXIT_OK


#: `create` KIND subcommands, in the order --help lists them.
KINDS: list[Callable[[Any], None]] = [register_vm, create_ct.register_lxc,
                                      create_ct.register_container, register_options]
