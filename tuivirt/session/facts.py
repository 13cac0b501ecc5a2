"""Host facts (versions, KVM) and files read on the host itself."""

from __future__ import annotations

import contextlib

from tuivirt.errors import (
    HostError,
)
from tuivirt.model import HostFacts
from tuivirt.session.core import SessionCore


class Facts(SessionCore):
    """What `tuivirt hosts` reports, and small files read locally or over SSH."""

    def read_file(self, path: str, limit: int = 1 << 20) -> str:
        """A small text file on the host itself (a native LXC config): locally or over SSH."""
        import shlex

        if self.tunnel is not None:
            status, out, err = self.tunnel.run(f"head -c {limit + 1} -- {shlex.quote(path)}")
            if status != 0:
                raise HostError(self.name, f"{path}: {err.strip() or f'exit {status}'}")
            text = str(out)
        elif not self._local:
            raise HostError(self.name, "files on this host cannot be read (no ssh)")
        else:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(limit + 1)
            except OSError as exc:
                raise HostError(self.name, f"{path}: {exc.strerror or exc}") from None
        if len(text) > limit:
            raise HostError(self.name, f"{path}: larger than {limit // 1024} KiB: not a "
                            "native config")
        return text

    def import_native(self, path: str, native_format: str = "lxc-tools") -> str:
        """A native config on this host converted to domain XML by libvirt (not defined)."""
        config = self.read_file(path)
        return self.libvirt_for_type("lxc").xml_from_native(native_format, config)

    def facts(self) -> HostFacts:
        """Versions and virtualisation support, for `tuivirt hosts`."""
        host = self.host
        if not self.reachable:
            return HostFacts(name=self.name, state=self.state, reason=self.reason,
                             read_only=host.read_only, label=host.label,
                             endpoints=tuple(self.endpoint_status.items()))
        libvirt_version = None
        hypervisors: list[tuple[str, str]] = []
        kvm_usable: bool | None = None
        flags: set[str] = set()
        flags_known = False
        for endpoint in self.libvirt:
            try:
                info = endpoint.facts()
            except HostError:
                continue
            libvirt_version = info.get("libvirt_version", libvirt_version)
            hypervisors.append((info["driver"], info.get("hypervisor_version", "?")))
            if "cpu_virt_flags" in info:
                flags.update(info["cpu_virt_flags"])
                flags_known = True
            if "kvm_usable" in info:
                kvm_usable = bool(info["kvm_usable"]) or bool(kvm_usable)
        if not flags_known or kvm_usable is None:
            cpu_flags, kvm = self._probe_cpu()
            if not flags_known:
                flags = cpu_flags
            if kvm_usable is None:
                kvm_usable = kvm
        docker_version = None
        if self.docker is not None:
            with contextlib.suppress(HostError):
                docker_version = self.docker.facts().get("docker_version")
        return HostFacts(
            name=self.name, state=self.state, reason=self.reason,
            libvirt_version=libvirt_version, hypervisors=tuple(hypervisors),
            docker_version=docker_version, kvm_usable=kvm_usable,
            cpu_virt_flags=tuple(sorted(flags)), read_only=host.read_only, label=host.label,
            endpoints=tuple(self.endpoint_status.items()))

    def _probe_cpu(self) -> tuple[set[str], bool | None]:
        """CPU flags and /dev/kvm, read on the host itself (locally or over SSH)."""
        script = ("grep -owE 'vmx|svm' /proc/cpuinfo | sort -u; "
                  "if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm:yes; "
                  "else echo kvm:no; fi")
        if self.tunnel is not None:
            try:
                _status, out, _err = self.tunnel.run(script)
            except HostError:
                return set(), None
        elif not self._local:
            return set(), None  # a remote URI without ssh: we cannot look at its CPU
        else:
            import os
            import subprocess

            try:
                out = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                                     timeout=5, check=False).stdout
            except (OSError, subprocess.TimeoutExpired):
                return set(), os.access("/dev/kvm", os.R_OK | os.W_OK)
        lines = out.split()
        return {w for w in lines if w in ("vmx", "svm")}, "kvm:yes" in lines
