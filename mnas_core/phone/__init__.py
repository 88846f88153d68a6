"""Time models on a USB- or TCP-connected Android phone (docs/phone.md).

    from mnas_core.phone import AdbPhone, ConnectConfig, read_device_info, time_model
    with AdbPhone(ConnectConfig()) as phone:          # USB; ConnectConfig(host=IP) for TCP
        info = read_device_info(phone)
        timing = time_model(phone, "model.pte", info, RunConfig(runner_local="executor_runner"))

`PhoneLatency` wraps this as a latency source (export, push, time, store in the latency DB).
"""
from .adb import AdbPhone, ConnectConfig, PhoneError, PhoneTimeoutError, load_or_create_key
from .device import DeviceInfo, ThermalState, read_device_info, read_thermal
from .parsers import RunnerOutput, RunnerOutputError, parse_executorch, parse_tflite
from .runner import EXECUTORCH, RUNNERS, TFLITE, PhoneTiming, RunConfig, RunnerSpec, time_model
from .source import PhoneConfig, PhoneLatency, phone_config_from_dict

__all__ = ["AdbPhone", "ConnectConfig", "PhoneError", "PhoneTimeoutError", "load_or_create_key",
           "DeviceInfo", "ThermalState", "read_device_info", "read_thermal", "RunnerOutput",
           "RunnerOutputError", "parse_executorch", "parse_tflite", "EXECUTORCH", "RUNNERS",
           "TFLITE", "PhoneTiming", "RunConfig", "RunnerSpec", "time_model", "PhoneConfig",
           "PhoneLatency", "phone_config_from_dict"]
