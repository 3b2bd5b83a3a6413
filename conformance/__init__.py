"""Run the test suite of the reference DataJoint release against datajoint_core.

``python -m conformance`` downloads the reference's source release, runs its own test suite once
on the reference and once on datajoint_core (``import datajoint`` mapped to ``datajoint_core`` by
a meta-path shim), and reports every reference-passing test that fails on ours, classified.
It is a report, not a gate: it exits 0 whenever it ran.
"""
