"""A stand-in for Natron's NatronEngine module: the documented calls the VstNode PyPlug uses.

Natron cannot be installed here, so the PyPlug is exercised against this module. Every class models
the signatures and documented behaviour of Natron's Python reference (NatronEngine: App, Group,
Effect, UserParamHolder, Param and its subclasses, PyCoreApplication; Natron 2.5 documentation)
for the calls listed in docs/natron.md, and nothing else: any other attribute raises
AttributeError naming it, so a call the PyPlug makes that this stand-in (and so probably Natron's
documentation) does not know fails the tests loudly. Every call is recorded in CALLS.

Simplifications, stated: App.render() "renders" a WriteOIIO by copying the files of the ReadOIIO
found upstream (through the group's Input) frame by frame, which checks wiring and frame ranges, not
pixels; in GUI mode (BACKGROUND = False) it only queues the render, as Natron's non-blocking render
returns at once, and stub_finish_renders() completes the queue. Names starting with stub_ are
test controls, not Natron API.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
from typing import Any

CALLS: list[tuple[str, tuple[Any, ...]]] = []
BACKGROUND = True  # NatronRenderer / Natron -b; False = the GUI
KNOWN_PLUGINS = {
    "fr.inria.built-in.Group": ("Group", 0),
    "fr.inria.built-in.Input": ("Input", 0),
    "fr.inria.built-in.Output": ("Output", 1),
    "fr.inria.built-in.Read": ("Read", 0),
    "fr.inria.built-in.Write": ("Write", 1),
    "fr.inria.openfx.ReadOIIO": ("ReadOIIO", 0),
    "fr.inria.openfx.WriteOIIO": ("WriteOIIO", 1),
}
# Engine/AppInstance.cpp (createNodeInternal) and Engine/ReadNode.cpp / WriteNode.cpp: asking for a
# reader or writer plug-in creates the built-in Read/Write container node around it; the container
# is what createNode returns and its `filename` knob is the inner plug-in's.
WRAPPED = {
    "fr.inria.openfx.ReadOIIO": "fr.inria.built-in.Read",
    "fr.inria.openfx.WriteOIIO": "fr.inria.built-in.Write",
}
# Engine/Node.cpp (the onParamChanged callback check): the function's argument names, read with
# inspect.getargspec, must be exactly these; getargspec refuses a function with annotations or
# keyword-only arguments, and Natron then logs an error and never calls it.
PARAM_CHANGED_ARGS = ["thisParam", "thisNode", "thisGroup", "app", "userEdited"]


def _record(name: str, *args: Any) -> None:
    CALLS.append((name, args))


def stub_declare(effect: Effect) -> Effect:
    """Make `effect` the object Natron declared as app1.<name> (parameters as attributes)."""
    effect.stub_declared = True
    return effect


def stub_reset(background: bool = True) -> None:
    global BACKGROUND
    CALLS.clear()
    BACKGROUND = background


class _Strict:
    """Unknown attributes fail loudly instead of returning something plausible."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"NatronEngine stand-in: {type(self).__name__}.{name} is not modelled (not in the documented "
            "API the PyPlug is meant to use)"
        )


# -- parameters ---------------------------------------------------------------------------------


class Param(_Strict):
    def __init__(self, holder: Effect, name: str, label: str) -> None:
        self._holder, self._name, self._label = holder, name, label
        self._help, self._new_line, self._animates = "", True, False
        self._visible = self._enabled = self._persistent = self._evaluate = True
        self._page: PageParam | None = None

    def getScriptName(self) -> str:
        return self._name

    def getLabel(self) -> str:
        return self._label

    def getTypeName(self) -> str:
        return type(self).__name__

    def getParentEffect(self) -> Effect:
        return self._holder

    def getApp(self) -> App:
        return self._holder._app

    def setHelp(self, text: str) -> None:
        _record("Param.setHelp", self._name, text)
        self._help = str(text)

    def getHelp(self) -> str:
        return self._help

    def setAddNewLine(self, value: bool) -> None:
        self._new_line = bool(value)

    def getAddNewLine(self) -> bool:
        return self._new_line

    def setAnimationEnabled(self, value: bool) -> None:
        self._animates = bool(value)

    def getIsAnimationEnabled(self) -> bool:
        return self._animates

    def setVisible(self, value: bool) -> None:
        self._visible = bool(value)

    def getIsVisible(self) -> bool:
        return self._visible

    def setEnabled(self, value: bool, dimension: int = 0) -> None:
        self._enabled = bool(value)

    def getIsEnabled(self, dimension: int = 0) -> bool:
        return self._enabled

    def setPersistent(self, value: bool) -> None:
        self._persistent = bool(value)

    def getIsPersistent(self) -> bool:
        return self._persistent

    def setEvaluateOnChange(self, value: bool) -> None:
        self._evaluate = bool(value)

    def getEvaluateOnChange(self) -> bool:
        return self._evaluate


class _ValueParam(Param):
    """AnimatedParam-like: one value (dimension 0), a default, a changed callback on every set."""

    _default: Any = None

    def __init__(self, holder: Effect, name: str, label: str) -> None:
        super().__init__(holder, name, label)
        self._value = self._default

    def _convert(self, value: Any) -> Any:
        return value

    def _dimension(self, dimension: int) -> None:
        if dimension != 0:
            raise IndexError(f"{self._name}: a 1-dimensional parameter has no dimension {dimension}")

    def get(self, *frame: float) -> Any:
        return self._value

    def getValue(self, dimension_or_view: Any = 0) -> Any:
        if isinstance(dimension_or_view, int):
            self._dimension(dimension_or_view)
        return self._value

    def set(self, value: Any, *frame_or_view: Any) -> None:
        if frame_or_view:
            raise TypeError(f"{self._name}: keyframes and views are not modelled")
        _record("Param.set", self._name, value)
        self._value = self._convert(value)
        self._holder._param_changed(self, user_edited=False)

    def setValue(self, value: Any, dimension_or_view: Any = 0) -> None:
        if isinstance(dimension_or_view, int):
            self._dimension(dimension_or_view)
        self.set(value)

    def setDefaultValue(self, value: Any, dimension: int = 0) -> None:
        self._dimension(dimension)
        self._default = self._convert(value)

    def getDefaultValue(self, dimension: int = 0) -> Any:
        self._dimension(dimension)
        return self._default

    def restoreDefaultValue(self, dimension: Any = 0) -> None:
        self._value = self._default


class _NumberParam(_ValueParam):
    _type: type = float
    _default: Any = 0

    def __init__(self, holder: Effect, name: str, label: str) -> None:
        super().__init__(holder, name, label)
        self._min: float | None = None
        self._max: float | None = None
        self._display = (None, None)

    def _convert(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: expected a number, got {value!r}")
        if self._type is int and not float(value).is_integer():
            raise TypeError(f"{self._name}: expected an integer, got {value!r}")
        value = self._type(value)
        if self._min is not None and value < self._min:  # Natron clamps to the hard range
            value = self._type(self._min)
        if self._max is not None and value > self._max:
            value = self._type(self._max)
        return value

    def setMinimum(self, value: float, dimension: int = 0) -> None:
        self._dimension(dimension)
        self._min = value

    def getMinimum(self, dimension: int = 0) -> float | None:
        return self._min

    def setMaximum(self, value: float, dimension: int = 0) -> None:
        self._dimension(dimension)
        self._max = value

    def getMaximum(self, dimension: int = 0) -> float | None:
        return self._max

    def setDisplayMinimum(self, value: float, dimension: int = 0) -> None:
        self._dimension(dimension)
        self._display = (value, self._display[1])

    def getDisplayMinimum(self, dimension: int = 0) -> float | None:
        return self._display[0]

    def setDisplayMaximum(self, value: float, dimension: int = 0) -> None:
        self._dimension(dimension)
        self._display = (self._display[0], value)

    def getDisplayMaximum(self, dimension: int = 0) -> float | None:
        return self._display[1]


class IntParam(_NumberParam):
    _type = int


class DoubleParam(_NumberParam):
    _type = float
    _default = 0.0


class BooleanParam(_ValueParam):
    _default = False

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise TypeError(f"{self._name}: expected a bool, got {value!r}")
        return value


class ChoiceParam(_ValueParam):
    """Holds a 0-based index; labels are matched without case, unknown labels change nothing."""

    _default = 0

    def __init__(self, holder: Effect, name: str, label: str) -> None:
        super().__init__(holder, name, label)
        self._options: list[str] = []

    def _index(self, value: Any) -> int | None:
        if isinstance(value, str):
            lowered = [o.lower() for o in self._options]
            return lowered.index(value.lower()) if value.lower() in lowered else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self._name}: expected an index or a label, got {value!r}")
        return value

    def _convert(self, value: Any) -> Any:
        index = self._index(value)
        return self._value if index is None else index

    def setDefaultValue(self, value: Any, dimension: int = 0) -> None:
        index = self._index(value)
        if index is not None:
            self._default = index

    def setOptions(self, options: list[tuple[str, str]]) -> None:
        """Engine/PyParameter.h (Natron 2.5): setOptions(const std::list<std::pair<QString, QString> >&),
        (label, help) pairs as the PyPlug exporter and Gui/Resources/PyPlugs/PIKColor.py write them.
        Shiboken rejects anything else with a TypeError before Natron sees it."""
        _record("ChoiceParam.setOptions", self._name, list(options))
        pairs = list(options)
        if not all(
            isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs
        ):
            raise TypeError(
                "'ChoiceParam.setOptions' called with wrong argument types: expected a list of "
                f"(label, help) string pairs, got {pairs!r}"
            )
        self._options = [label for label, _help in pairs]

    def addOption(self, option: str, help_text: str) -> None:
        self._options.append(str(option))

    def getOptions(self) -> list[str]:
        return list(self._options)

    def getNumOptions(self) -> int:
        return len(self._options)

    def getOption(self, index: int) -> str:
        """Engine/PyParameter.cpp (ChoiceParam::getOption): "" for an index out of range."""
        return self._options[index] if 0 <= index < len(self._options) else ""


class StringParamBase(_ValueParam):
    _default = ""

    def _convert(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"{self._name}: expected a string, got {value!r}")
        return value


class StringParam(StringParamBase):
    class TypeEnum:
        eStringTypeLabel = "label"
        eStringTypeMultiLine = "multiline"
        eStringTypeRichTextMultiLine = "richtext"
        eStringTypeCustom = "custom"
        eStringTypeDefault = "default"

    def __init__(self, holder: Effect, name: str, label: str) -> None:
        super().__init__(holder, name, label)
        self.stub_type = StringParam.TypeEnum.eStringTypeDefault

    def setType(self, value: str) -> None:
        self.stub_type = value


class FileParam(StringParamBase):
    pass


class OutputFileParam(StringParamBase):
    pass


class PathParam(StringParamBase):
    pass


class ButtonParam(Param):
    def trigger(self) -> None:
        """As though the user had pressed it: the holder's onParamChanged runs."""
        _record("ButtonParam.trigger", self._name)
        self._holder._param_changed(self, user_edited=True)


class PageParam(Param):
    def __init__(self, holder: Effect, name: str, label: str) -> None:
        super().__init__(holder, name, label)
        self.stub_params: list[Param] = []

    def addParam(self, param: Param) -> None:
        if param._page is not None:
            raise ValueError(f"{param._name} is already on page {param._page._name}")
        param._page = self
        self.stub_params.append(param)


# -- nodes --------------------------------------------------------------------------------------


class Group(_Strict):
    """Base of App and Effect: a node collection."""

    def __init__(self) -> None:
        self._children: list[Effect] = []

    def getChildren(self) -> list[Effect]:
        return list(self._children)

    def getNode(self, name: str) -> Effect | None:
        head, _, rest = name.partition(".")
        for child in self._children:
            if child._name == head:
                return child.getNode(rest) if rest else child
        return None


class Effect(Group):
    def __init__(self, app: App, plugin_id: str, container: Group) -> None:
        super().__init__()
        inner = plugin_id
        plugin_id = WRAPPED.get(plugin_id, plugin_id)
        self._app, self._plugin, self._container = app, plugin_id, container
        self._inner_plugin = inner  # the reader/writer inside a Read/Write container
        label, count = KNOWN_PLUGINS[plugin_id]
        self._max_inputs = count
        existing = {c._name for c in container._children}
        n = 1
        while f"{label}{n}" in existing:
            n += 1
        self._name = self._label = f"{label}{n}"
        self._inputs: dict[int, Effect] = {}
        self._params: dict[str, Param] = {}
        self._pages_order: list[str] = []
        self._changes = 0
        self._position = (0.0, 0.0)
        self._make(StringParam, "onParamChanged", "After param changed callback")
        if inner == "fr.inria.openfx.WriteOIIO":
            self._make(OutputFileParam, "filename", "File")
            frame_range = self._make(ChoiceParam, "frameRange", "Frame Range")
            frame_range.setOptions([(o, "") for o in ("Union of input ranges", "Timeline bounds", "Manual")])
            self._make(IntParam, "firstFrame", "First Frame")
            self._make(IntParam, "lastFrame", "Last Frame")
        elif inner == "fr.inria.openfx.ReadOIIO":
            self._make(FileParam, "filename", "File")

    def _make(self, cls: type, name: str, label: str) -> Any:
        """Engine/Knob.cpp (createIntKnob and its siblings, behind Effect::createXParam): a knob of
        that name already on the node is returned as it is when its type matches, else None."""
        if name in self._params:
            existing = self._params[name]
            return existing if type(existing) is cls else None
        param = cls(self, name, label)
        self._params[name] = param
        return param

    def __getattr__(self, name: str) -> Any:
        # Engine/Node.cpp (declareNodeVariableToPython, declarePythonFields): Natron runs
        # `app1.X = app1.getNode("X")` and `app1.X.knob = app1.X.getParam("knob")`, so only that
        # declared object has parameter attributes. Engine/AppInstance.cpp hands it to createInstance
        # (stub_declare models it); what createNode and getNode return are fresh wrappers without.
        params = self.__dict__.get("_params", {})
        if self.__dict__.get("stub_declared") and name in params:
            return params[name]
        if name in params:
            raise AttributeError(
                f"NatronEngine stand-in: {self.__dict__.get('_name')}.{name}: parameters are attributes only "
                "of the objects Natron declared as app1.<node>; use getParam()"
            )
        return super().__getattr__(name)

    def _param_changed(self, param: Param, user_edited: bool) -> None:
        """Natron calls the node's onParamChanged callback for every change (not inside begin/end)."""
        callback = self._params["onParamChanged"]._value
        if not callback or self._changes or param._name == "onParamChanged":
            return
        module_name, _, function = callback.rpartition(".")
        function_object = getattr(sys.modules[module_name], function) if module_name else globals()[function]
        spec = inspect.getfullargspec(function_object)
        if spec.annotations or spec.kwonlyargs:
            # Engine/AppManager.cpp (getFunctionArguments): inspect.getargspec raises on these
            self._app.stub_script_editor.append(f"Failed to get signature of {callback}: callback rejected")
            return
        if spec.varargs or spec.varkw or spec.args != PARAM_CHANGED_ARGS:
            # Engine/EffectInstancePrivate.cpp: exactly the five argument names, nothing variadic
            self._app.stub_script_editor.append(f"Wrong signature of {callback}: callback rejected")
            return
        function_object(param, self, self._container, self._app, user_edited)

    # -- identity --
    def getPluginID(self) -> str:
        return self._plugin

    def getScriptName(self) -> str:
        return self._name

    def setScriptName(self, name: str) -> bool:
        _record("Effect.setScriptName", self._name, name)
        """Engine/PyNode.cpp (Effect::setScriptName -> Node::setScriptName): False, not an exception,
        when the name is not a valid Python identifier or another node of the group has it."""
        if self._plugin == "fr.inria.built-in.Output":
            return False  # Natron ignores renaming Output nodes (docs: groups)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            return False
        if any(c is not self and c._name == name for c in self._container._children):
            return False
        self._name = name
        return True

    def getLabel(self) -> str:
        return self._label

    def setLabel(self, label: str) -> None:
        self._label = label

    def setPosition(self, x: float, y: float) -> None:
        self._position = (float(x), float(y))

    def getPosition(self) -> tuple[float, float]:
        return self._position

    def setColor(self, r: float, g: float, b: float) -> None:
        pass

    def setSize(self, w: float, h: float) -> None:
        pass

    def getContainerGroup(self) -> Group:
        return self._container

    # -- inputs --
    def getMaxInputCount(self) -> int:
        if self._plugin == "fr.inria.built-in.Group":
            return sum(c._plugin == "fr.inria.built-in.Input" for c in self._children)
        return self._max_inputs

    def canConnectInput(self, index: int, node: Effect | None) -> bool:
        if node is None or not 0 <= index < self.getMaxInputCount() or index in self._inputs:
            return False
        if node._plugin == "fr.inria.built-in.Output" or node._container is not self._container:
            return False
        seen, todo = set(), [node]
        while todo:  # no cycles
            current = todo.pop()
            if current is self:
                return False
            if id(current) not in seen:
                seen.add(id(current))
                todo.extend(current._inputs.values())
        return True

    def connectInput(self, index: int, node: Effect) -> bool:
        """Engine/PyNode.cpp (Effect::connectInput): False when canConnectInput refuses the link."""
        _record("Effect.connectInput", self._name, index, node._name if node else None)
        if not self.canConnectInput(index, node):
            return False
        self._inputs[index] = node
        return True

    def disconnectInput(self, index: int) -> None:
        self._inputs.pop(index, None)

    def getInput(self, index: int) -> Effect | None:
        return self._inputs.get(index)

    # -- parameters --
    def getParam(self, name: str) -> Param | None:
        return self._params.get(name)

    def getParams(self) -> list[Param]:
        return list(self._params.values())

    def createPageParam(self, name: str, label: str) -> PageParam:
        return self._make(PageParam, name, label)

    def createIntParam(self, name: str, label: str) -> IntParam:
        return self._make(IntParam, name, label)

    def createDoubleParam(self, name: str, label: str) -> DoubleParam:
        return self._make(DoubleParam, name, label)

    def createBooleanParam(self, name: str, label: str) -> BooleanParam:
        return self._make(BooleanParam, name, label)

    def createChoiceParam(self, name: str, label: str) -> ChoiceParam:
        return self._make(ChoiceParam, name, label)

    def createStringParam(self, name: str, label: str) -> StringParam:
        return self._make(StringParam, name, label)

    def createFileParam(self, name: str, label: str) -> FileParam:
        return self._make(FileParam, name, label)

    def createOutputFileParam(self, name: str, label: str) -> OutputFileParam:
        return self._make(OutputFileParam, name, label)

    def createPathParam(self, name: str, label: str) -> PathParam:
        return self._make(PathParam, name, label)

    def createButtonParam(self, name: str, label: str) -> ButtonParam:
        return self._make(ButtonParam, name, label)

    def refreshUserParamsGUI(self) -> None:
        _record("Effect.refreshUserParamsGUI", self._name)

    def setPagesOrder(self, pages: list[str]) -> None:
        self._pages_order = list(pages)

    def beginChanges(self) -> None:
        self._changes += 1

    def endChanges(self) -> None:
        self._changes = max(0, self._changes - 1)


class PyCoreApplication(_Strict):
    def isBackground(self) -> bool:
        return BACKGROUND

    def getPluginIDs(self, filter_text: str = "") -> list[str]:
        return [p for p in KNOWN_PLUGINS if filter_text.lower() in p.lower()]


natron = PyCoreApplication()


def _pattern_path(pattern: str, frame: int) -> str:
    folder, name = os.path.split(pattern)
    if "#" in name:
        name = re.sub(r"#+", lambda run: f"{frame:0{len(run.group(0))}d}", name, count=1)
    else:
        name = re.sub(r"%0?(\d*)d", lambda m: f"{frame:0{int(m.group(1) or 0)}d}", name, count=1)
    return os.path.join(folder, name)


class App(Group):
    def __init__(self, first_frame: int = 1, last_frame: int = 100) -> None:
        super().__init__()
        self._bounds = (first_frame, last_frame)
        self.stub_pending: list[tuple[Effect, int, int]] = []
        self.stub_rendered: list[tuple[str, int, int]] = []
        self.stub_script_editor: list[str] = []

    def createNode(
        self, plugin_id: str, major_version: int = -1, group: Group | None = None, properties: Any = None
    ) -> Effect:
        _record("App.createNode", plugin_id, major_version, group and getattr(group, "_name", "app"))
        if plugin_id not in KNOWN_PLUGINS:
            raise ValueError(f"NatronEngine stand-in: plug-in {plugin_id!r} is not modelled")
        container = group if group is not None else self
        node = Effect(self, plugin_id, container)  # a PyPlug's group starts empty: createInstance fills it
        container._children.append(node)
        return node

    def timelineGetLeftBound(self) -> int:
        return self._bounds[0]

    def timelineGetRightBound(self) -> int:
        return self._bounds[1]

    def timelineGetTime(self) -> int:
        return self._bounds[0]

    def writeToScriptEditor(self, message: str) -> None:
        self.stub_script_editor.append(str(message))

    def render(self, effect: Effect, first: int, last: int, step: int = 1) -> None:
        """Blocking in background mode only (docs: App.render); only for Write nodes."""
        _record("App.render", effect._name, first, last)
        if effect._plugin != "fr.inria.built-in.Write":
            raise ValueError("App.render should only be used with a Write node (docs)")
        if BACKGROUND:
            self._render_now(effect, first, last, step)
        else:
            self.stub_pending.append((effect, first, last))

    def stub_finish_renders(self) -> None:
        """The GUI's render threads finishing what render() started."""
        pending, self.stub_pending = self.stub_pending, []
        for effect, first, last in pending:
            self._render_now(effect, first, last, 1)

    def _upstream_read(self, node: Effect) -> Effect:
        """The ReadOIIO feeding `node`, through a group's Input nodes."""
        current = node.getInput(0)
        while current is not None and current._plugin == "fr.inria.built-in.Input":
            group = current._container
            inputs = [c for c in group._children if c._plugin == "fr.inria.built-in.Input"]
            current = group.getInput(inputs.index(current))
        if current is None or current._plugin != "fr.inria.built-in.Read":
            raise ValueError(f"the stand-in renders a Read straight into a Write, not {current}")
        return current

    def _render_now(self, writer: Effect, first: int, last: int, step: int) -> None:
        source = self._upstream_read(writer)._params["filename"]._value
        target = writer._params["filename"]._value
        if not target:
            raise ValueError(f"{writer._name}: no output file")
        for frame in range(first, last + 1, step):
            os.makedirs(os.path.dirname(_pattern_path(target, frame)) or ".", exist_ok=True)
            shutil.copyfile(_pattern_path(source, frame), _pattern_path(target, frame))
        self.stub_rendered.append((writer._name, first, last))
