"""End-to-end harness: boss, Prometheus, Alertmanager and a fake Discord as real processes.

The modules here hold the reusable pieces (process control, ports, polling, API clients,
config building, traffic); ``test_monitoring_pipeline.py`` is the test that uses them.
"""
