"""Network models: websocket clients that are :class:`~duplex.models.base.StreamingModel`\\ s.

``moshi+ws://`` / ``moshi+wss://`` speak Moshi's binary protocol (Moshi, PersonaPlex);
``realtime+ws://`` / ``realtime+wss://`` speak the OpenAI-Realtime event protocol. Harness options
go in the URL fragment (never sent to a server), the query string is passed through untouched:
``moshi+ws://host:8998/api/chat?text_prompt=Hi&voice_prompt=NATF2#handshake_timeout=120``.
"""
