"""The Dagster webserver's GraphQL API as scripts and tests use it: Dagster's own client
(``dagster_graphql.DagsterGraphQLClient``) launches and polls runs; the few calls it lacks
(re-execution from failure, runs by tag, step failures, sensors) are queries of the same API.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from dagster_graphql import DagsterGraphQLClient

JOB = "unsup_pipeline"
FINAL_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")


class DagsterWebserver(DagsterGraphQLClient):
    """A running webserver at ``url`` (``http://host:port``), serving this project's job."""

    def __init__(self, url: str, timeout: int = 60) -> None:
        parts = urlsplit(url)
        super().__init__(parts.hostname or "127.0.0.1", port_number=parts.port, timeout=timeout)

    def query(self, text: str, **variables) -> dict:
        """The data of one GraphQL query or mutation (errors raise DagsterGraphQLClientError)."""
        return self._execute(text, variables)

    def repository(self) -> dict:
        """``{"repositoryName", "repositoryLocationName"}`` of the loaded code location, or {}
        while it is still loading."""
        data = self.query(
            "{ repositoriesOrError { ... on RepositoryConnection "
            "{ nodes { name location { name } } } } }"
        )
        nodes = data["repositoriesOrError"].get("nodes") or []
        if not nodes:
            return {}
        return {
            "repositoryName": nodes[0]["name"],
            "repositoryLocationName": nodes[0]["location"]["name"],
        }

    def launch(self, run_config: dict, assets: tuple[str, ...] = ()) -> str:
        """Launch the job (only ``assets`` when given) and return the run id."""
        return self.submit_job_execution(
            JOB, run_config=run_config, asset_selection=list(assets) or None
        )

    def status(self, run_id: str) -> str:
        return self.get_run_status(run_id).value

    def wait(self, run_id: str, timeout: float, every: float = 2.0) -> tuple[str, float]:
        """The run's status once final (or at ``timeout``) and the seconds waited."""
        started = time.monotonic()
        while (status := self.status(run_id)) not in FINAL_STATUSES:
            if time.monotonic() - started > timeout:
                break
            time.sleep(every)
        return status, time.monotonic() - started

    def reexecute_from_failure(self, run_id: str) -> str:
        data = self.query(
            """mutation($p: ReexecutionParams!) {
              launchRunReexecution(reexecutionParams: $p) {
              __typename ... on LaunchRunSuccess { run { runId } }
              ... on PythonError { message } } }""",
            p={"parentRunId": run_id, "strategy": "FROM_FAILURE"},
        )
        result = data["launchRunReexecution"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"re-execution of {run_id} was not launched: {result}")
        return result["run"]["runId"]

    def runs_with_tag(self, key: str, value: str) -> list[dict]:
        data = self.query(
            """query($filter: RunsFilter) { runsOrError(filter: $filter) {
              ... on Runs { results { runId status tags { key value } } } } }""",
            filter={"tags": [{"key": key, "value": value}]},
        )
        return data["runsOrError"]["results"]

    def step_failures(self, run_id: str) -> list[str]:
        """``"step: message"`` of every failed step of the run."""
        data = self.query(
            """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection {
              events { __typename
                ... on ExecutionStepFailureEvent { stepKey error { message } } } } } }""",
            id=run_id,
        )
        return [
            f"{e['stepKey']}: {e['error']['message']}"
            for e in data["logsForRun"]["events"]
            if e["__typename"] == "ExecutionStepFailureEvent"
        ]

    def start_sensor(self, name: str) -> str:
        """Turn a sensor on; its status afterwards."""
        data = self.query(
            """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
              __typename ... on Sensor { sensorState { status } }
              ... on PythonError { message } } }""",
            s={**self.repository(), "sensorName": name},
        )
        return data["startSensor"]["sensorState"]["status"]

    def sensor(self, name: str) -> dict:
        """A sensor's state: status and its last 50 ticks (status, timestamp)."""
        data = self.query(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
              ... on Sensor { sensorState { status ticks(limit: 50) { status timestamp } } } } }""",
            s={**self.repository(), "sensorName": name},
        )
        return data["sensorOrError"]["sensorState"]
