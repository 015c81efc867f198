"""Can this workstation reach Pro Santé Connect? The ``network`` check family.

One probe per public endpoint (proxy, name resolution, TCP, TLS with SNI, the chain validated
against the system store and against the Mozilla roots, the server's ``Date``), all in parallel
under one time limit, during the card reading. Nothing personal is sent: TLS handshakes and one
``HEAD`` without cookies per endpoint. ``--offline`` sends nothing at all.
"""
