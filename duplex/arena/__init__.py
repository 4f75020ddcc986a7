"""Preference between systems: a pairwise arena with Bradley-Terry intervals, and rubric scores.

After S2S-Arena and MTalk-Bench (pairwise judgements of spoken replies, online Elo, rubric
scores), with Chatbot Arena's statistics (Bradley-Terry by maximum likelihood, bootstrap
intervals, style control) and both orders of every pair, so a judge's position bias cancels:

- :mod:`.responses`: what a judge is shown - the user's turn, the response's transcript with
  timing, and speech features measured on the session's output (duration, rate, latency,
  loudness, pitch);
- :mod:`.judging`: pairwise and rubric verdicts, the judge registry (``smollm2`` embedded and
  offline, ``anthropic``, ``openai-compatible``), the battle cache, retries;
- :mod:`.embedded`, :mod:`.remote`: the judges; prompts in ``prompts/``;
- :mod:`.ratings`: Bradley-Terry, bootstrap, style control, Elo; :mod:`.bias`: the bias report;
- :mod:`.run`: ``run_arena``; :mod:`.document`: ``arena.json`` and the leaderboard;
- :mod:`.rubric`: ``duplex-bench rubric``; :mod:`.calibrate`: pairs of known order;
- :mod:`.cli`: the two commands.
"""
