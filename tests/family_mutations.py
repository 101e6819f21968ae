"""Break a recurrent family's descriptor on purpose (tests that must see it fail)."""

from dataclasses import replace

from lstm_convert.families import FAMILIES


def misorder(monkeypatch, class_name: str, keras_gates: tuple[str, ...]) -> None:
    """Claim Keras stores ``class_name``'s gates in ``keras_gates`` order: every reader of
    the descriptor (converter, explain) then derives the wrong permutation."""
    family = replace(FAMILIES[class_name], keras_gates=keras_gates)
    monkeypatch.setitem(FAMILIES, class_name, family)
