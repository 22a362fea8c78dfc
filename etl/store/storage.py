"""Where the lake lives: a local folder or an S3-compatible bucket (OBS, S3, MinIO), behind
pyarrow's filesystem layer, so that both share one code path.

The one difference that shows: a local folder renames a run's partitions into place
(atomic), an object store cannot, so a run is written under its final keys there and its
commit record last (see etl.store.lake).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from etl.config import OutputConfig, S3Config
from etl.config_values import S3Location
from etl.errors import ConfigError

# Bounds for an object store's requests, so an unreachable endpoint ends a run in seconds.
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 60.0
S3_ATTEMPTS = 4


@dataclass(frozen=True)
class LakeStore:
    """The lake's root on a filesystem, and the few operations the lake needs of it.

    Paths are strings relative to nothing: `path(...)` joins parts under the root.
    """

    fs: pafs.FileSystem
    root: str  # the lake's folder on `fs`: "/abs/path", or "bucket/prefix"
    url: str  # how the lake is named to people: the folder, or s3://bucket/prefix

    @property
    def local(self) -> bool:
        """True for a local folder: renames are atomic and a lock file can be taken there."""
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        """Return the path of `parts` under the lake's root."""
        return "/".join([self.root.rstrip("/"), *parts])

    def show(self, path: str) -> str:
        """Return how a path is named to people (an s3:// URL on object storage)."""
        return path if self.local else f"s3://{path}"

    def files(self, folder: str) -> list[pafs.FileInfo]:
        """Return every file under `folder`, at any depth (none if it does not exist)."""
        selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        return [i for i in self.fs.get_file_info(selector) if i.type == pafs.FileType.File]

    def children(self, folder: str) -> list[str]:
        """Return the names directly under `folder` (none if it does not exist)."""
        selector = pafs.FileSelector(folder, allow_not_found=True)
        return [i.base_name for i in self.fs.get_file_info(selector)]

    def exists(self, path: str) -> bool:
        """Return True if a file (or folder) is at `path`."""
        return bool(self.fs.get_file_info(path).type != pafs.FileType.NotFound)

    def read_text(self, path: str) -> str:
        with self.fs.open_input_stream(path) as stream:
            return bytes(stream.read()).decode("utf-8")

    def write_text(self, path: str, text: str) -> None:
        """Write a small file whole (one PUT on object storage)."""
        self.make_dirs(path.rsplit("/", 1)[0])
        with self.fs.open_output_stream(path) as stream:
            stream.write(text.encode("utf-8"))

    def make_dirs(self, folder: str) -> None:
        """Create a folder and its parents (nothing to do on object storage)."""
        if self.local:
            self.fs.create_dir(folder, recursive=True)

    def remove_tree(self, folder: str) -> None:
        """Delete a folder and everything in it; a missing folder is not an error."""
        if self.exists(folder):
            self.fs.delete_dir(folder)

    def move_tree(self, source: str, target: str) -> None:
        """Move a folder: one rename locally, file by file on object storage."""
        if self.local:
            self.make_dirs(target.rsplit("/", 1)[0])
            self.fs.move(source, target)
            return
        for info in self.files(source):
            self.fs.move(info.path, target + info.path[len(source) :])
        self.remove_tree(source)

    def check_lake(self, key: str, file: str, probe_write: bool = True) -> None:
        """Raise ConfigError (naming `file` and `key`) if the lake cannot be listed (or, with
        `probe_write`, written): a missing bucket, refused credentials, an unreachable
        endpoint. The probe is one small object, removed at once; a local folder is checked
        elsewhere, without writing."""
        if self.local:
            return
        bucket = self.root.split("/", 1)[0]
        probe = self.path(f"_probe-{secrets.token_hex(4)}")
        try:
            if self.fs.get_file_info(bucket).type == pafs.FileType.NotFound:
                raise ConfigError(f"bucket {bucket!r} does not exist", file=file, key=key)
            self.children(self.root)
            if probe_write:
                with self.fs.open_output_stream(probe) as stream:
                    stream.write(b"swr-etl probe\n")
                self.fs.delete_file(probe)
        except OSError as exc:
            raise ConfigError(
                f"cannot use the lake {self.url}: {s3_reason(exc)}", file=file, key=key
            ) from None


def s3_reason(exc: OSError) -> str:
    """Return the gist of an object store's error in one line (the AWS SDK's is long)."""
    text = " ".join(str(exc).split())
    for marker, gist in (
        ("ACCESS_DENIED", "access denied (are the credentials right?)"),
        ("AccessDenied", "access denied (are the credentials right?)"),
        ("InvalidAccessKeyId", "the access key is not known (output.s3.access_key)"),
        ("SignatureDoesNotMatch", "the signature was refused (output.s3.secret_key)"),
        ("NETWORK_CONNECTION", "cannot connect (is output.s3.endpoint_url right?)"),
        ("NoSuchBucket", "the bucket does not exist"),
    ):
        if marker in text:
            return f"{gist}: {text[:300]}"
    return text[:300]


def local_store(folder: Path) -> LakeStore:
    """Return the store of a lake in a local folder."""
    return LakeStore(pafs.LocalFileSystem(), str(folder), str(folder))


def s3_store(
    location: S3Location,
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key: str | None,
    secret_key: str | None,
    virtual_addressing: bool,
) -> LakeStore:
    """Return the store of a lake on S3-compatible object storage; without keys, the standard
    AWS credential chain (environment, profile, instance role) decides."""
    options: dict[str, object] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "request_timeout": REQUEST_TIMEOUT_S,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=S3_ATTEMPTS),
        "force_virtual_addressing": virtual_addressing,
    }
    if region:
        options["region"] = region
    if access_key and secret_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
    if endpoint_url:
        scheme, _, host = endpoint_url.partition("://")
        options["scheme"] = scheme
        options["endpoint_override"] = host.rstrip("/")
    fs = pafs.S3FileSystem(**options)
    root = f"{location.bucket}/{location.prefix}".rstrip("/")
    return LakeStore(fs, root, location.url)


def store_for(output: OutputConfig) -> LakeStore:
    """Return a store of the lake a config's output names. Make one per run or command and
    pass it on: an S3 filesystem resolves its credentials (perhaps through the instance
    metadata) per client."""
    if isinstance(output.lake, Path):
        return local_store(output.lake)
    s3 = output.s3 or S3Config()
    return s3_store(
        output.lake,
        endpoint_url=s3.endpoint_url,
        region=s3.region,
        access_key=s3.access_key.get_secret_value() if s3.access_key else None,
        secret_key=s3.secret_key.get_secret_value() if s3.secret_key else None,
        virtual_addressing=s3.addressing == "virtual",
    )
