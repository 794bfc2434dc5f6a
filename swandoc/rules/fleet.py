"""Knowledge for what only a fleet analysis can say (several hosts' bundles at once)."""
from __future__ import annotations

from .knowledge import REF_LOGS, topic

topic("host-without-bundle", "error", "A host of the fleet gave no bundle", "unknown", """
    The host is in the inventory, but no bundle came back from it: it could not be reached, or
    swandoc bundle failed there. Its tunnels can only be judged from the other ends, so the fleet
    report may miss a cause that sits on this host.""",
      ["Check the reason in the evidence (SSH unreachable, swandoc not installed, no root)",
       "Fix it and run the playbook again, or collect a bundle on the host by hand:\n"
       "    swandoc bundle -o HOST.tar.xz"],
      REF_LOGS, 30)
