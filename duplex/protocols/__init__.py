"""Wire protocols of the servers the harness talks to, sans I/O.

Each codec is a plain object: bytes (or JSON text) in, typed events out, and messages to send back
as bytes or text. None of them opens a socket or reads a clock; the transports in
:mod:`duplex.models.transports` and :mod:`duplex.serve` are thin drivers around them. Anything a
peer may send is either decoded or rejected with :class:`duplex.errors.ProtocolError`.
"""
