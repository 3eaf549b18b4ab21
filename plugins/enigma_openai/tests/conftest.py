"""Every test of this plugin gets its own ENIGMA_HOME (see enigma_core.testing)."""

from enigma_core.testing import isolated_enigma_home  # noqa: F401
