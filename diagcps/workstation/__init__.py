"""Facts about the workstation around the card: OS, Cryptolib CPS, browsers, clock.

Every function here only reads, never prints, and takes the OS as injectable inputs (``system``,
``root``, ``env``, a registry reader) so the same code can be run against a fake file system.
"""
