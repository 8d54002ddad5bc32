"""Build hook: generates the gRPC stubs from proto/lanes/v1/lanes.proto at build time.

The stubs are never committed, nor written into the source tree: `pip install clients/python` (or a
wheel build) runs grpc_tools.protoc on the repository's proto file (or on
$LANES_PROTO_DIR/lanes/v1/lanes.proto) straight into the build directory's lanes/v1/.
"""
import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def generate_stubs(out_dir):
    from grpc_tools import protoc
    import grpc_tools

    proto_dir = Path(os.environ.get("LANES_PROTO_DIR", HERE.parent.parent / "proto"))
    proto = proto_dir / "lanes" / "v1" / "lanes.proto"
    if not proto.exists():
        raise RuntimeError(f"lanes.proto not found at {proto}; set LANES_PROTO_DIR")
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
            str(proto)]
    if protoc.main(args) != 0:
        raise RuntimeError("grpc_tools.protoc failed on " + str(proto))


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        generate_stubs(self.build_lib)


setup(cmdclass={"build_py": BuildPyWithStubs})
