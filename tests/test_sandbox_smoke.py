def test_sandbox_serves_sts(sandbox):
    assert sandbox.client("sts").get_caller_identity()["Account"] == "123456789012"
