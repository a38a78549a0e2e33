"""The home page: what needs the signed-in person now.

It sits above every other app, in a layer of its own at the top of the import-linter contract,
because it only reads: items waiting in the inbox (with their claims and deadlines from the
workflow), runs live now, threads busy on their deployment that no run follows, and deployments
whose last sync failed. Putting it in ``workflow`` would make the workflow app the owner of a
page that is about runs and deployments too, and putting it beside workflow (``workflow | health
| metrics`` are independent siblings) would forbid the reads of claims and deadlines it needs.
Nothing imports it but the URLconf.
"""
