"""The distribution installs every package of the repo, under the paravisor namespace."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_directory_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for prefix, where in config["package-dir"].items():
        for init in (ROOT / where).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / where)
            found.add(".".join([prefix, *rel.parts]))
    assert found == listed, f"missing from pyproject: {found - listed}; stale: {listed - found}"


def test_toolchain_and_guests_install_under_the_paravisor_namespace():
    import paravisor

    assert hasattr(paravisor, "__path__")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(p == "paravisor" or p.startswith("paravisor.") for p in config["packages"])
