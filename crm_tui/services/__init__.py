"""The use cases: every public function takes a Session first and applies the access rules."""
