"""Writes a one-layer image archive of a directory, for engines that
import images: an OCI image layout that `ctr images import` reads, whose
manifest.json also makes it the docker-archive `docker load` reads.

  oci_image.py ROOTFS NAME OUT.tar

NAME is the image reference ("localhost/bb:latest"), set both as
containerd's and as the OCI ref-name annotation.
"""
import hashlib
import io
import json
import sys
import tarfile

rootfs, name, out = sys.argv[1:4]


def blob(tar, data, media):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest[7:])
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return {"mediaType": media, "digest": digest, "size": len(data)}


layer_buf = io.BytesIO()
with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.PAX_FORMAT) as layer:
    layer.add(rootfs, arcname=".")
layer_data = layer_buf.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer_data).hexdigest()
with tarfile.open(out, "w") as tar:
    layer_desc = blob(tar, layer_data, "application/vnd.oci.image.layer.v1.tar")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    config_desc = blob(tar, json.dumps(config).encode(),
                       "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(tar, json.dumps(manifest).encode(),
                         "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
    }
    index = {"schemaVersion": 2, "manifests": [manifest_desc]}
    docker_manifest = [{
        "Config": "blobs/sha256/" + config_desc["digest"][7:],
        "RepoTags": [name],
        "Layers": ["blobs/sha256/" + layer_desc["digest"][7:]],
    }]
    for fname, data in (("index.json", json.dumps(index).encode()),
                        ("manifest.json", json.dumps(docker_manifest).encode()),
                        ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')):
        info = tarfile.TarInfo(fname)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
