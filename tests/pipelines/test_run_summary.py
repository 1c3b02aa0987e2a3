"""How `make run` reports a check: passed, a failed gate, or a warning with its finding."""

from types import SimpleNamespace

from dagster import AssetCheckSeverity, MetadataValue

from pipelines.run_job import _outcome


def check(passed: bool, severity: AssetCheckSeverity, **metadata) -> SimpleNamespace:
    values = {k: MetadataValue.text(v) for k, v in metadata.items()}
    return SimpleNamespace(passed=passed, severity=severity, metadata=values)


def test_a_check_reads_as_passed_failed_or_a_warning_with_its_finding():
    assert _outcome(check(True, AssetCheckSeverity.ERROR)) == "passed"
    assert _outcome(check(False, AssetCheckSeverity.ERROR, finding="x")) == "FAILED"
    warned = check(False, AssetCheckSeverity.WARN, finding="4 of 10 classes present")
    assert _outcome(warned) == "warning: 4 of 10 classes present"
    assert _outcome(check(False, AssetCheckSeverity.WARN)) == "warning"
