"""`duplex-bench live` and `duplex-bench devices` (kept here so duplex/cli.py stays thin)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from duplex.errors import ConfigError


def add_live_parsers(sub: Any) -> None:
    live = sub.add_parser(
        "live", help="talk to a model through the microphone and speakers; record and score it"
    )
    live.add_argument("--model", required=True, help="model spec (see `models`)")
    live.add_argument("--input-device", default=None, help="index or name part (see `devices`)")
    live.add_argument("--output-device", default=None, help="index or name part (see `devices`)")
    live.add_argument(
        "--duration", type=float, default=None, help="seconds (default: until Ctrl-C)"
    )
    live.add_argument("--out", type=Path, default=None, help="run folder (default: runs/live-...)")
    live.add_argument("--rate", type=int, default=None, help="device rate (default: the mic's)")
    live.add_argument(
        "--input-latency",
        type=float,
        default=None,
        help="seconds from sound to captured sample (default: PortAudio's figure)",
    )
    live.add_argument(
        "--output-latency",
        type=float,
        default=None,
        help="seconds from played sample to sound (default: PortAudio's figure)",
    )
    live.add_argument("--no-asr", action="store_true", help="skip the transcript of the model")
    live.add_argument("--seed", type=int, default=0)
    sub.add_parser("devices", help="list audio devices for `live`")


def live_command(args: argparse.Namespace) -> int:
    from duplex.live.devices import SoundDeviceIO
    from duplex.live.run import (
        LiveRunConfig,
        default_live_out,
        format_live,
        live_session,
        prepare_model,
    )
    from duplex.models.registry import load_model

    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be positive, got {args.duration}")
    for name in ("input_latency", "output_latency"):
        v = getattr(args, name)
        if v is not None and not 0.0 <= v < 2.0:
            raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 2) s, got {v}")
    device = SoundDeviceIO(
        args.input_device,
        args.output_device,
        rate=args.rate,
        input_latency=args.input_latency,
        output_latency=args.output_latency,
    )
    config = LiveRunConfig(
        model=args.model,
        out=args.out or default_live_out(args.model),
        duration_s=args.duration,
        asr=None if args.no_asr else "faster-whisper-tiny.en",
        seed=args.seed,
    )
    model = load_model(args.model)
    try:
        model.require_annotations_absent("live")
        prepare_model(model)
        print(
            f"live: {device.input_info.name} -> {args.model} -> {device.output_info.name} "
            f"at {device.rate} Hz; Ctrl-C ends the session",
            file=sys.stderr,
        )
        _, row = live_session(model, device, config)
    finally:
        model.close()
    print(format_live(row, config.out))
    return 0


def devices_command(args: argparse.Namespace) -> int:
    from duplex.live.devices import format_devices, list_devices

    print(format_devices(list_devices()))
    return 0
