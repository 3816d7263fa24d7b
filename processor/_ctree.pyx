# cython: language_level=3, boundscheck=True, wraparound=True, initializedcheck=True
"""lxml trees read in C (issue #9): the scan of a WordprocessingML part and the depth check.

`scan` gives the same answer as `extract_docx._Scan`, which stays as the reference and as the
fallback when this module is not built (tests/test_extract_docx_scan.py compares the two on the
samples, the templates, hand-made structures, mutated files and generated trees). The Python scan
made a Python object for every listed element and walked down to each container's last
descendant; this walk reads libxml2's nodes directly and visits each element once, entering and
leaving it. `deeper_than` answers what `ooxml._depth_probe`'s XPath answers, without XPath.

Both only read the tree: no libxml2 function is called and nothing is linked against libxml2, so
the module depends on the layout of lxml's `_Element` and libxml2's `xmlNode`, both compiled in
from the headers of the lxml it was built against. `ooxml.ctree()` hands it out only when the
running lxml is that same version (`LXML_VERSION`). The walks are iterative (parent and sibling
pointers), so no nesting depth can exhaust the C stack.
"""

from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport strcmp, strlen
from lxml.includes cimport tree
from lxml.includes.etreepublic cimport LXML_VERSION_STRING, _Element

LXML_VERSION = LXML_VERSION_STRING.decode("ascii")

cdef const char* _W14 = b"http://schemas.microsoft.com/office/word/2010/wordml"
cdef const char* _MC = b"http://schemas.openxmlformats.org/markup-compatibility/2006"
_ON = frozenset({"1", "true", "on"})
# Symbol-font check boxes (w:sym), as in extract_docx._SYM_GLYPHS (passed in by scan()).

cdef enum Kind:
    K_NONE
    K_P
    K_SDT
    K_FALLBACK
    K_TEXT
    K_TAG
    K_PLACEHOLDER
    K_CHECKBOX
    K_CHECKED
    K_DELETED
    K_TAB
    K_BREAK
    K_HYPHEN
    K_SYM
    K_LEGACY_BOX


cdef inline bint _is(const char* a, const char* b) noexcept:
    return strcmp(a, b) == 0


cdef enum Space:
    S_OTHER
    S_W
    S_W14
    S_MC


cdef Kind _kind(tree.xmlNode* c, Space space) noexcept:
    """What the scan does with an element (extract_docx._W.actions), by its namespace's kind.
    Names are told apart by their first letter before any string comparison: most elements of a
    part (pPr, rPr, tc, tr ...) match none."""
    cdef const char* name = <const char*>c.name
    if name is NULL:
        return K_NONE
    cdef char first = name[0]
    if space == S_W:
        if first == b"p":
            return K_P if name[1] == 0 else K_NONE
        if first == b"t":
            if name[1] == 0:
                return K_TEXT
            if _is(name, b"tag"):
                return K_TAG
            if _is(name, b"tab"):
                return K_TAB
        elif first == b"s":
            if _is(name, b"sdt"):
                return K_SDT
            if _is(name, b"showingPlcHdr"):
                return K_PLACEHOLDER
            if _is(name, b"sym"):
                return K_SYM
        elif first == b"b":
            if _is(name, b"br"):
                return K_BREAK
        elif first == b"c":
            if _is(name, b"cr"):
                return K_BREAK
            if _is(name, b"checkBox"):
                return K_LEGACY_BOX
        elif first == b"d":
            if _is(name, b"delText"):
                return K_DELETED
        elif first == b"n":
            if _is(name, b"noBreakHyphen"):
                return K_HYPHEN
        return K_NONE
    if space == S_W14:
        if first == b"c":
            if _is(name, b"checkbox"):
                return K_CHECKBOX
            if _is(name, b"checked"):
                return K_CHECKED
        return K_NONE
    if space == S_MC and first == b"F" and _is(name, b"Fallback"):
        return K_FALLBACK
    return K_NONE


cdef inline str _decode(const char* s):
    return PyUnicode_DecodeUTF8(s, strlen(s), NULL)


cdef inline bint _texty(tree.xmlNode* n) noexcept:
    return n.type == tree.XML_TEXT_NODE or n.type == tree.XML_CDATA_SECTION_NODE


cdef inline bint _skippable(tree.xmlNode* n) noexcept:
    return n.type == tree.XML_XINCLUDE_START or n.type == tree.XML_XINCLUDE_END


cdef object _text(tree.xmlNode* c):
    """lxml's `.text`: the text and CDATA nodes before the first child element, joined; None
    when there are none."""
    cdef tree.xmlNode* n = c.children
    parts = None
    first = None
    while n is not NULL and (_texty(n) or _skippable(n)):
        if _texty(n) and n.content is not NULL:
            if first is None:
                first = _decode(<const char*>n.content)
            else:
                if parts is None:
                    parts = [first]
                parts.append(_decode(<const char*>n.content))
        n = n.next
    if parts is not None:
        return "".join(parts)
    return first


cdef object _attribute(tree.xmlNode* c, const char* name, const char* href):
    """lxml's `.get("{href}name")`: the value, or None when the element has no such attribute."""
    cdef tree.xmlAttr* a = c.properties
    cdef tree.xmlNode* n
    while a is not NULL:
        if (
            a.name is not NULL
            and a.ns is not NULL
            and a.ns.href is not NULL
            and _is(<const char*>a.name, name)
            and _is(<const char*>a.ns.href, href)
        ):
            parts = []
            n = a.children
            while n is not NULL:
                if n.type == tree.XML_TEXT_NODE and n.content is not NULL:
                    parts.append(_decode(<const char*>n.content))
                n = n.next
            return "".join(parts)
        a = a.next
    return None


cdef tree.xmlNode* _child(tree.xmlNode* c, const char* name, const char* href) noexcept:
    """The first child element with this name in this namespace, or NULL."""
    cdef tree.xmlNode* n = c.children
    while n is not NULL:
        if (
            n.type == tree.XML_ELEMENT_NODE
            and n.name is not NULL
            and n.ns is not NULL
            and n.ns.href is not NULL
            and _is(<const char*>n.name, name)
            and _is(<const char*>n.ns.href, href)
        ):
            return n
        n = n.next
    return NULL


cdef inline tree.xmlNode* _first_element(tree.xmlNode* n) noexcept:
    while n is not NULL and n.type != tree.XML_ELEMENT_NODE:
        n = n.next
    return n


cdef class Control:
    """A content control being read (extract_docx._Control, as a C struct)."""

    cdef public str tag
    cdef public bint checkbox, checked, placeholder
    cdef public Py_ssize_t level  # open paragraphs when the control starts
    cdef public list paras
    cdef public list cur

    def __init__(self, Py_ssize_t level):
        self.tag = ""
        self.checkbox = False
        self.checked = False
        self.placeholder = False
        self.level = level
        self.paras = []
        self.cur = []


cdef class _Walk:
    """The state of one scan: the same lists and stacks as extract_docx._Scan."""

    cdef bytes namespace  # keeps `w` alive
    cdef const char* w
    cdef dict sym_glyphs
    cdef list paragraphs, deleted, controls
    cdef list paras  # open paragraphs (a text box nests one in another)
    cdef list sdts  # open content controls, tagged or not
    cdef Control owner  # the innermost open control that has a tag
    cdef int skip  # open mc:Fallback elements: their text is a copy
    # The namespace records last seen for each kind: the elements of a part share a few, so the
    # URIs are compared once per record, not once per element.
    cdef tree.xmlNs* seen_w
    cdef tree.xmlNs* seen_w14
    cdef tree.xmlNs* seen_mc

    cdef Space space(self, tree.xmlNode* c) noexcept:
        cdef tree.xmlNs* ns = c.ns
        if ns is NULL or ns.href is NULL:
            return S_OTHER
        if ns == self.seen_w:
            return S_W
        if ns == self.seen_w14:
            return S_W14
        if ns == self.seen_mc:
            return S_MC
        cdef const char* href = <const char*>ns.href
        if _is(href, self.w):
            self.seen_w = ns
            return S_W
        if _is(href, _W14):
            self.seen_w14 = ns
            return S_W14
        if _is(href, _MC):
            self.seen_mc = ns
            return S_MC
        return S_OTHER

    cdef inline Kind kind(self, tree.xmlNode* c) noexcept:
        return _kind(c, self.space(c))

    cdef inline void add(self, piece):
        if piece and not self.skip:
            if self.paras:
                (<list>self.paras[-1]).append(piece)
            if self.owner is not None:
                self.owner.cur.append(piece)

    cdef Control innermost_tagged(self):
        cdef Control control
        for control in reversed(self.sdts):
            if control.tag:
                return control
        return None

    cdef int enter(self, tree.xmlNode* c, Kind kind) except -1:
        cdef tree.xmlNode* flag
        cdef Control top
        if kind == K_TEXT:
            self.add(_text(c))
        elif kind == K_P:
            self.paras.append([])
        elif kind == K_SDT:
            self.sdts.append(Control(len(self.paras)))
        elif kind == K_FALLBACK:
            self.skip += 1
        elif kind == K_TAG:
            if self.sdts:
                top = self.sdts[-1]
                if not top.tag:
                    top.tag = (_attribute(c, b"val", self.w) or "").strip()
                    self.owner = self.innermost_tagged()
        elif kind == K_PLACEHOLDER:
            if self.sdts:
                value = _attribute(c, b"val", self.w)
                top = self.sdts[-1]
                top.placeholder = value is None or value.strip().lower() in _ON
        elif kind == K_CHECKBOX:
            if self.sdts:
                top = self.sdts[-1]
                top.checkbox = True
        elif kind == K_CHECKED:
            if self.sdts:
                top = self.sdts[-1]
                top.checked = (_attribute(c, b"val", _W14) or "").strip().lower() in _ON
        elif kind == K_DELETED:
            text = _text(c)
            if text:
                self.deleted.append(text)
        elif kind == K_TAB:
            self.add("\t")
        elif kind == K_BREAK:
            self.add("\n")
        elif kind == K_HYPHEN:
            self.add("-")
        elif kind == K_SYM:
            self.add(self.sym_glyphs.get((_attribute(c, b"char", self.w) or "").upper()))
        elif kind == K_LEGACY_BOX:  # a legacy form-field check box (FORMCHECKBOX)
            flag = _child(c, b"checked", self.w)
            if flag is not NULL:
                value = _attribute(flag, b"val", self.w)
                ticked = value is None or value.strip().lower() in _ON
            else:
                flag = _child(c, b"default", self.w)
                ticked = flag is not NULL and (
                    (_attribute(flag, b"val", self.w) or "0").lower() in _ON
                )
            self.add("☒" if ticked else "☐")
        return 0

    cdef int leave(self, Kind kind) except -1:
        cdef Control owner, control
        if kind == K_P:
            text = "".join(self.paras.pop())
            if text and not text.isspace():
                self.paragraphs.append(text)
            owner = self.owner
            if owner is not None and len(self.paras) >= owner.level:
                owner.paras.append("".join(owner.cur))
                owner.cur = []
        elif kind == K_SDT:
            control = self.sdts.pop()
            if control.tag:
                if control.cur or not control.paras:
                    control.paras.append("".join(control.cur))
                self.controls.append(control)
                self.owner = self.innermost_tagged()
        elif kind == K_FALLBACK:
            self.skip -= 1
        return 0


def scan(_Element root not None, bytes namespace not None, dict sym_glyphs not None):
    """(paragraphs, deleted texts, tagged controls) of the part under `root`, whose
    WordprocessingML namespace is `namespace`."""
    cdef _Walk st = _Walk()
    st.namespace = namespace
    st.w = st.namespace
    st.sym_glyphs = sym_glyphs
    st.paragraphs = []
    st.deleted = []
    st.controls = []
    st.paras = []
    st.sdts = []
    st.owner = None
    st.skip = 0
    st.seen_w = st.seen_w14 = st.seen_mc = NULL
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c = top
    cdef tree.xmlNode* down
    cdef tree.xmlNode* nxt
    while True:
        st.enter(c, st.kind(c))
        down = _first_element(c.children)
        if down is not NULL:
            c = down
            continue
        # leave c and every ancestor it is the last element of, up to the next sibling
        while True:
            st.leave(st.kind(c))
            if c is top:
                return st.paragraphs, st.deleted, st.controls
            nxt = _first_element(c.next)
            if nxt is not NULL:
                c = nxt
                break
            c = c.parent


def deeper_than(_Element root not None, int limit):
    """True when an element sits more than `limit` levels deep, `root` being level 1."""
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c = top
    cdef tree.xmlNode* down
    cdef tree.xmlNode* nxt
    cdef int depth = 1
    if depth > limit:
        return True
    while True:
        down = _first_element(c.children)
        if down is not NULL:
            c = down
            depth += 1
            if depth > limit:
                return True
            continue
        while True:
            if c is top:
                return False
            nxt = _first_element(c.next)
            if nxt is not NULL:
                c = nxt
                break
            c = c.parent
            depth -= 1
