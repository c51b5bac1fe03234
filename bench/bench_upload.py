"""Upload benchmark: memory and throughput of a 200 MiB video through the service.

The service (live mode, Images and Videos flow) and the sandbox run as separate processes. The
client sends a multipart upload with `fileSize`, so the service streams the file to the
sandbox's part URLs. Figures:
- peak RSS of the service process during the upload (VmHWM), against its idle RSS. The goal is
  an absolute 100 MiB peak. `bench.run` compares ratios, so the goal becomes the ratio
  100 MiB / idle RSS of this run.
- upload throughput against the same bytes sent straight to the sandbox with the same Videos
  API calls (initializeUpload, 4 MiB part PUTs, finalizeUpload).
"""

from __future__ import annotations

import asyncio
import struct
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr

from app.core.security import TokenCipher
from app.core.settings import DEVELOPMENT_ENCRYPTION_KEY
from bench.bench_service import UVICORN
from bench.common import backing_servers, entry, rss_kib, server_process

API_KEY = "bench-upload-api-key-0123456789"
VIDEO_BYTES = 200 * 1024 * 1024
PEAK_GOAL_MIB = 100.0
CHUNK_BYTES = 1024 * 1024
PART_BYTES = 4_194_304


def write_video(path: Path, size: int) -> None:
    """Write an MP4 of `size` bytes: an `ftyp` box, then one `mdat` box of patterned bytes."""
    brands = b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    payload = size - len(ftyp) - 8
    block = bytes(range(256)) * (CHUNK_BYTES // 256)
    with path.open("wb") as file:
        file.write(ftyp + struct.pack(">I", 8 + payload) + b"mdat")
        remaining = payload
        while remaining:
            piece = block[: min(remaining, len(block))]
            file.write(piece)
            remaining -= len(piece)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


async def seed(database_url: str, sandbox_url: str) -> tuple[int, str, str]:
    """Connect the sandbox's first member to workspace `bench`; return (account, org, token)."""
    async with httpx.AsyncClient(base_url=sandbox_url) as sandbox:
        state = (await sandbox.get("/_sandbox/state")).json()
        grant = (await sandbox.post("/_sandbox/tokens", json={"member": "sandbox-member-1"})).json()
    member = state["members"][0]
    account = next(
        a
        for a in state["accounts"]
        if a["currency"] == "USD" and not a["test"] and a["status"] == "ACTIVE"
    )
    token = grant["access_token"]
    cipher = TokenCipher([SecretStr(DEVELOPMENT_ENCRYPTION_KEY)])
    connection = await asyncpg.connect(
        database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        await connection.execute(
            "TRUNCATE connections, ad_accounts, idempotency_records, dry_run_entities CASCADE"
        )
        connection_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO connections (id, workspace_id, status, scopes, access_token_encrypted, "
            "access_token_expires_at, created_at, updated_at) VALUES ($1, 'bench', 'active', "
            "'r_ads rw_ads', $2, $3, now(), now())",
            connection_id,
            cipher.encrypt(token),
            datetime.now(UTC) + timedelta(days=50),
        )
        await connection.execute(
            "INSERT INTO ad_accounts (id, workspace_id, connection_id, account_id, name, currency,"
            " status, test, created_at, updated_at) VALUES ($1, 'bench', $2, $3, 'Bench', 'USD',"
            " 'ACTIVE', false, now(), now())",
            uuid.uuid4(),
            connection_id,
            int(account["id"]),
        )
    finally:
        await connection.close()
    return int(account["id"]), str(member["organizations"][0]), token


class RssSampler:
    """Sample a process's RSS every 10 ms in a thread; `peak_kib` is the largest sample."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
            self._stop.wait(0.01)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload_through_service(
    service_url: str, account: int, owner: str, video: Path, declare_size: bool
) -> float:
    """Send the video as multipart form data; return the seconds the request took."""
    data = {"kind": "video", "assetId": owner}
    if declare_size:
        data["fileSize"] = str(video.stat().st_size)
    with video.open("rb") as file, httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        response = client.post(
            f"{service_url}/v1/ad-accounts/{account}/assets",
            params={"wait": "false"},
            data=data,
            files={"file": ("bench.mp4", file, "video/mp4")},
            headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": uuid.uuid4().hex},
        )
        elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:500]}")
    return elapsed


async def _file_range(video: Path, first: int, length: int) -> AsyncIterator[bytes]:
    with video.open("rb") as file:
        file.seek(first)
        remaining = length
        while remaining:
            chunk = file.read(min(CHUNK_BYTES, remaining))
            remaining -= len(chunk)
            yield chunk


async def upload_direct(sandbox_url: str, owner: str, token: str, video: Path) -> float:
    """Run the Videos API flow straight against the sandbox; return the seconds it took."""
    size = video.stat().st_size
    headers = {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": "202402",
        "X-Restli-Protocol-Version": "2.0.0",
    }
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=600) as client:
        started = time.perf_counter()
        initialized = await client.post(
            "/rest/videos",
            params={"action": "initializeUpload"},
            headers=headers,
            json={"initializeUploadRequest": {"owner": owner, "fileSizeBytes": size}},
        )
        value = initialized.json()["value"]
        etags = []
        for instruction in value["uploadInstructions"]:
            first, last = instruction["firstByte"], instruction["lastByte"]
            length = last - first + 1
            part = await client.put(
                instruction["uploadUrl"],
                content=_file_range(video, first, length),
                headers={"Content-Length": str(length)},
            )
            part.raise_for_status()
            etags.append(part.headers["etag"])
        finalized = await client.post(
            "/rest/videos",
            params={"action": "finalizeUpload"},
            headers=headers,
            json={
                "finalizeUploadRequest": {
                    "video": value["video"],
                    "uploadToken": "",
                    "uploadedPartIds": etags,
                }
            },
        )
        finalized.raise_for_status()
        return time.perf_counter() - started


def run() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with (
        backing_servers() as (database_url, redis_url),
        tempfile.TemporaryDirectory(prefix="linkedin-ads-bench-upload-") as folder,
    ):
        from app.cli import migrate

        migrate(database_url)
        video = Path(folder) / "bench.mp4"
        write_video(video, VIDEO_BYTES)
        sandbox_command = ["-m", "app.sandbox", "--port", "{port}"]
        with server_process(sandbox_command, health_path="/_sandbox/state") as (sandbox_url, _):
            account, owner, token = asyncio.run(seed(database_url, sandbox_url))
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "LINKEDIN_ADS_SERVICE_API_KEYS": f"bench={API_KEY}",
                "LINKEDIN_ADS_SCHEDULER_ENABLED": "false",
                "LINKEDIN_ADS_LIVE_MODE": "true",
                "LINKEDIN_ADS_API_BASE_URL": sandbox_url + "/rest",
                "LINKEDIN_ADS_OAUTH_BASE_URL": sandbox_url + "/oauth/v2",
                "LINKEDIN_ADS_UPLOAD_FLOW": "images_videos",
                "LINKEDIN_ADS_RATE_LIMIT_TIER": "standard",
            }
            command = [*UVICORN, "--factory", "app.main:create_default_app"]
            with server_process(command, env) as (service_url, service_pid):
                time.sleep(1.0)
                idle_kib = rss_kib(service_pid)
                direct = asyncio.run(upload_direct(sandbox_url, owner, token, video))
                with RssSampler(service_pid) as sampler:
                    streamed = upload_through_service(service_url, account, owner, video, True)
                streamed_peak = max(peak_rss_kib(service_pid), sampler.peak_kib)
                with RssSampler(service_pid) as sampler:
                    spooled = upload_through_service(service_url, account, owner, video, False)
                spooled_peak = max(peak_rss_kib(service_pid), sampler.peak_kib)

        idle_mib = idle_kib / 1024
        goal = f"<= {PEAK_GOAL_MIB / idle_mib:.3f}"
        results.append(
            entry(
                "peak service RSS uploading a 200 MiB video, streamed "
                f"(goal {PEAK_GOAL_MIB:.0f} MiB), vs idle RSS",
                streamed_peak / 1024,
                idle_mib,
                goal,
                "MiB",
            )
        )
        results.append(
            entry(
                "peak service RSS uploading a 200 MiB video, spooled to disk "
                f"(goal {PEAK_GOAL_MIB:.0f} MiB), vs idle RSS",
                spooled_peak / 1024,
                idle_mib,
                goal,
                "MiB",
            )
        )
        mib = VIDEO_BYTES / 1024 / 1024
        results.append(
            entry(
                "upload MiB/s through the service (streamed) vs straight to the sandbox",
                mib / streamed,
                mib / direct,
                ">= 0.5",
                "MiB/s",
            )
        )
        results.append(
            entry(
                "upload MiB/s through the service (spooled) vs straight to the sandbox",
                mib / spooled,
                mib / direct,
                ">= 0.4",
                "MiB/s",
            )
        )
    return results


if __name__ == "__main__":
    for item in run():
        print(item)
