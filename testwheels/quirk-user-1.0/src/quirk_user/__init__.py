"""quirk-user 1.0: a consumer of quirk 1.0 that calls each of its patterns and has data of its own.

``PATTERNS`` maps a pattern's name to a function returning a JSON-able value. Each function
imports what it uses, so a pattern that breaks breaks alone. Option values come both from
literals written here and from data (a JSON document, as a config file would give them).
"""
import json

# What a configuration file would hold: never a literal of the code, always data.
CONFIG = json.loads(
    '{"fmt": "quirk", "plugin": "quirk.plugins.alpha", "plugins": ["quirk.plugins.alpha", "quirk.plugins.beta"],'
    ' "loaded": "quirk.models", "modules": "quirk"}'
)


def plain_import():
    import quirk

    return {"version": quirk.__version__, "api": quirk.api_version(), "shout": quirk.shout("hi"), "module": quirk.__name__}


def dict_keys():
    from quirk import options

    return options.versions()


def kwargs_from_dict():
    from quirk import options

    return options.engine()


def option_literal():
    from quirk import options

    return {
        "default": options.load(),
        "positional": options.load("quirk"),
        "keyword": options.load(fmt="quirk"),
        "other": options.load("json"),
        "describe": options.describe("quirk"),
    }


def option_from_data():
    from quirk import options

    return {
        "consumer": options.load(**{"fmt": CONFIG["fmt"]}),
        "library": options.load_configured('{"fmt": "quirk"}'),
        "describe": options.describe(CONFIG["fmt"]),
    }


def unknown_option():
    from quirk import options

    return options.load("xml")


def all_star():
    import quirk.sub
    from quirk import star

    return {"all": list(quirk.sub.__all__), "star": star.NAMES, "helper": star.quirk()}


def pickle_roundtrip():
    from quirk import compat
    from quirk.models import Thing

    obj = compat.roundtrip(Thing(5))
    return {"module": type(obj).__module__, "own_class": type(obj) is Thing, "value": obj.value}


def pickle_registry():
    from quirk import compat
    from quirk.models import Thing

    obj = compat.load(compat.LEGACY_PICKLE)
    return {
        "registry": compat.registry(),
        "module": type(obj).__module__,
        "own_class": type(obj) is Thing,
        "value": obj.value,
    }


def set_module_literal():
    import quirk
    from quirk import _widgets, compat

    widget = compat.roundtrip(quirk.Widget(4))
    return {
        "class_module": quirk.Widget.__module__,
        "function_module": _widgets.make_widget.__module__,
        "pickled": type(widget) is quirk.Widget and widget.size == 4,
    }


def set_module_data():
    from quirk import api, compat

    gadget = compat.roundtrip(api.Gadget(3))
    return {"module": api.Gadget.__module__, "pickled": type(gadget) is api.Gadget and gadget.parts == 3}


def dunder_module_assign():
    import quirk
    from quirk import compat, models

    made, built, tagged = (compat.roundtrip(cls()) for cls in (models.Made, models.Built, quirk.Tagged))
    return {
        "modules": [models.Made.__module__, models.Built.__module__, quirk.Tagged.__module__],
        "pickled": [type(made) is models.Made, type(built) is models.Built, type(tagged) is quirk.Tagged],
        "kinds": [made.kind, built.kind],
    }


def import_module_param():
    from quirk import plugins

    alpha = plugins.load_plugin("quirk.plugins.alpha")
    return {
        "id": alpha.PLUGIN_ID,
        "name": alpha.__name__,
        "other": plugins.load_plugin("json").__name__,
        "preload": plugins.preload("quirk.plugins.alpha", "quirk.plugins.beta"),
    }


def import_module_data():
    from quirk import plugins

    alpha = plugins.load_plugin(CONFIG["plugin"])
    return {"id": alpha.PLUGIN_ID, "name": alpha.__name__, "preload": plugins.preload(*CONFIG["plugins"])}


def import_module_loop():
    from quirk import plugins

    found = plugins.load_all()
    return {"names": [module.__name__ for module in found], "ids": [module.PLUGIN_ID for module in found]}


def missing_module():
    from quirk import plugins

    return plugins.load_plugin("quirk.plugins.gamma").__name__


def sys_modules():
    from quirk import registry

    return registry.loaded()


def sys_modules_param():
    from quirk import registry

    return {
        "literal": registry.lookup("quirk").api_version(),
        "data": registry.lookup(CONFIG["loaded"]).VALUE,
        "name": registry.lookup("quirk.sub").__name__,
    }


def exec_star():
    from quirk import codestr

    return codestr.exec_star()


def exec_option_table():
    from quirk import codestr

    return {
        "default": codestr.evaluate("f()"),
        "literal": codestr.evaluate("f()", modules="quirk"),
        "data": codestr.evaluate("f()", modules=CONFIG["modules"]),
        "other": codestr.evaluate("floor(2.5)", modules="math"),
    }


def eval_code():
    from quirk import codestr

    return codestr.eval_code()


def compare_dunder_name():
    from quirk import mod

    return mod.checks()


def compare_type_module():
    from quirk import mod
    from quirk.models import Thing

    return {
        "own": mod.owns(Thing()),
        "builtin": mod.owns(1),
        "own_top": mod.owns_top(Thing()),
        "builtin_top": mod.owns_top(1),
    }


def entry_point():
    from quirk import meta

    return meta.entry_point()


def logger_names():
    from quirk import logs

    return logs.logger_names()


def warning_filters():
    from quirk import filters

    return filters.filtered()


def resources():
    from quirk import files

    return files.read()


def mock_patch_target():
    from quirk import patching

    return patching.patched_value()


def banner_text():
    from quirk import text

    return text.banner()


def _choose(fmt):
    return "native" if fmt == "quirk" else "other"


def consumer_data():
    """quirk-user's own output: a report keyed by library name, and its own option."""
    import quirk

    report = {"quirk": quirk.__version__, "quirk_user": "1.0"}
    return {
        "report": report,
        "keys": sorted(report),
        "requires": ["quirk"],
        "choice_literal": _choose("quirk"),
        "choice_data": _choose(CONFIG["fmt"]),
    }


PATTERNS = {
    function.__name__: function
    for function in (
        plain_import,
        dict_keys,
        kwargs_from_dict,
        option_literal,
        option_from_data,
        unknown_option,
        all_star,
        pickle_roundtrip,
        pickle_registry,
        set_module_literal,
        set_module_data,
        dunder_module_assign,
        import_module_param,
        import_module_data,
        import_module_loop,
        missing_module,
        sys_modules,
        sys_modules_param,
        exec_star,
        exec_option_table,
        eval_code,
        compare_dunder_name,
        compare_type_module,
        entry_point,
        logger_names,
        warning_filters,
        resources,
        mock_patch_target,
        banner_text,
        consumer_data,
    )
}
