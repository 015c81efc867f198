"""The card simulator: virtual cards built from profiles, the vpcd bridge that serves them to a
real pcscd, a private pcscd in its own mount namespace, and fault injection for tests.

Kept apart from ``apdu`` (the pure ISO 7816 layer) so that the tool's own reading code never
depends on a test double; the built-in demo is its only user outside the tests."""
