"""YAML loading: syntax problems become YamlSyntaxError with a line, never a traceback."""

from __future__ import annotations

import pytest

from fenji.policy.yaml_loader import YamlSyntaxError, load_yaml


def test_a_list_used_as_a_mapping_key_is_a_syntax_error_with_its_line() -> None:
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml("name: x\n? [a, b]\n: 1\n")
    assert info.value.line == 2
