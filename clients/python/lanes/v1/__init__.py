"""Generated gRPC stubs for lanes.v1 (lanes_pb2, lanes_pb2_grpc), made at install time."""
