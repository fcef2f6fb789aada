"""One handler string, two forms: Lambda's module.function and module:function."""

from __future__ import annotations

import pytest

from cdk_streams.handler_spec import HandlerSpec, HandlerSpecError, parse_handler


@pytest.mark.parametrize(
    ("text", "module", "function"),
    [
        ("orders.handler", "orders", "handler"),
        ("orders:handler", "orders", "handler"),
        ("pkg.orders.handler", "pkg.orders", "handler"),
        ("pkg.orders:handler", "pkg.orders", "handler"),
        (" orders.handler ", "orders", "handler"),
    ],
)
def test_both_forms_name_the_same_function(text: str, module: str, function: str) -> None:
    spec = parse_handler(text)
    assert spec == HandlerSpec(module, function)
    assert spec.lambda_form == f"{module}.{function}"
    assert spec.module_path == module.replace(".", "/")


@pytest.mark.parametrize(
    "text", ["handler", "", "orders.", ":handler", "a:b:c", "1orders.h", "a.b-c"]
)
def test_anything_else_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(HandlerSpecError) as error:
        parse_handler(text)
    assert str(error.value) == (
        f"handler must be module.function (or module:function), e.g. orders.handler; got {text!r}"
    )
