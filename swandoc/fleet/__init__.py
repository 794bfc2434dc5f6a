"""Many hosts as one network: each host's bundle read on its own, tunnels paired end to end,
mesh policy groups checked against each other (``network.analyze_fleet``); ``ansible/swandoc.yml``
collects the bundles."""
