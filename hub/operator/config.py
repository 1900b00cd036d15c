"""The operator client's config (operator.toml), the only place that reads it.

```toml
[operator]
hub = "127.0.0.1:50051"      # the hub's address
server_name = "hub"          # the name in the hub's certificate
[operator.tls]
ca_cert = "../../ca/ca.crt"
cert = "tls.crt"             # the staff member's certificate (seinhuis keys add-staff)
key = "tls.key"
```
Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seinhuis.errors import ConfigError
from seinhuis.transport import TlsFiles


@dataclass(frozen=True)
class OperatorConfig:
    hub: str
    server_name: str
    tls: TlsFiles


def load(path: Path) -> OperatorConfig:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return from_dict(data, base=path.resolve().parent, source=str(path))


def from_dict(data: dict[str, Any], *, base: Path, source: str) -> OperatorConfig:
    operator = _table(data, "operator", source, {"operator"})
    tls = _table(operator, "tls", source, {"hub", "server_name", "tls"}, prefix="operator.")
    _no_unknown(tls, {"ca_cert", "cert", "key"}, source, "operator.tls.")

    def text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{source}: {where}{key}: a non-empty string is required")
        return value

    return OperatorConfig(
        hub=text(operator, "hub", "operator."),
        server_name=text(operator, "server_name", "operator.", "hub"),
        tls=TlsFiles(
            ca_cert=base / text(tls, "ca_cert", "operator.tls."),
            cert=base / text(tls, "cert", "operator.tls."),
            key=base / text(tls, "key", "operator.tls."),
        ),
    )


def _table(
    data: dict[str, Any], key: str, source: str, known: set[str], *, prefix: str = ""
) -> dict[str, Any]:
    _no_unknown(data, known, source, prefix)
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{prefix}{key}]: missing table")
    return value


def _no_unknown(data: dict[str, Any], known: set[str], source: str, prefix: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: {prefix}{unknown[0]}: unknown key")
