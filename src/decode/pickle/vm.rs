//! The allow-list machine: a loop over an explicit stack, objects in one arena, each numpy
//! global interpreted symbolically, never called.

use super::*;

/// Names of the opcodes this reader knows but refuses, so that the message says which.
pub(super) fn refused_opcode(code: u8) -> Option<(&'static str, &'static str)> {
    const TEXT: &str = "a protocol 0/1 text opcode; only protocols 2 to 5 are read";
    const NOT_NUMPY: &str = "numpy feature pickles never use it";
    Some(match code {
        b'I' => ("INT", TEXT),
        b'L' => ("LONG", TEXT),
        b'F' => ("FLOAT", TEXT),
        b'S' => ("STRING", TEXT),
        b'V' => ("UNICODE", TEXT),
        b'p' => ("PUT", TEXT),
        b'g' => ("GET", TEXT),
        b'd' => ("DICT", TEXT),
        b'l' => ("LIST", TEXT),
        b'i' => ("INST", TEXT),
        b'o' => ("OBJ", TEXT),
        b'P' => ("PERSID", "persistent ids need the writer's own loader"),
        b'Q' => ("BINPERSID", "persistent ids need the writer's own loader"),
        0x81 => ("NEWOBJ", NOT_NUMPY),
        0x92 => ("NEWOBJ_EX", NOT_NUMPY),
        0x82 => ("EXT1", "extension registry codes name globals indirectly"),
        0x83 => ("EXT2", "extension registry codes name globals indirectly"),
        0x84 => ("EXT4", "extension registry codes name globals indirectly"),
        0x8b => ("LONG4", NOT_NUMPY),
        0x8f => ("EMPTY_SET", NOT_NUMPY),
        0x90 => ("ADDITEMS", NOT_NUMPY),
        0x91 => ("FROZENSET", NOT_NUMPY),
        op::NEXT_BUFFER => ("NEXT_BUFFER", "out-of-band buffers are not in the file"),
        op::READONLY_BUFFER => ("READONLY_BUFFER", "out-of-band buffers are not in the file"),
        _ => return None,
    })
}

pub(super) type ObjId = usize;

/// A stack or memo slot. Scalars are inline; everything else lives in the arena, so a
/// value is `Copy` and sharing through the memo never copies data.
#[derive(Debug, Clone, Copy)]
pub(super) enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// No structure this reader accepts uses a float's value, so it is not kept.
    Float,
    Obj(ObjId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BytesKind {
    Bytes,
    ByteArray,
    /// A Python 2 `str` (BINSTRING): bytes that Python 3 reads as latin-1 text.
    Py2Str,
}

/// The allowed globals, each of which the machine interprets itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Global {
    Reconstruct,
    NdarrayClass,
    DtypeClass,
    CodecsEncode,
    FromBuffer,
    BytesClass,
}

impl Global {
    fn resolve(module: &str, name: &str) -> Option<Global> {
        Some(match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Global::Reconstruct
            }
            ("numpy", "ndarray") => Global::NdarrayClass,
            ("numpy", "dtype") => Global::DtypeClass,
            ("_codecs", "encode") => Global::CodecsEncode,
            ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Global::FromBuffer,
            ("__builtin__" | "builtins", "bytes") => Global::BytesClass,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Global::Reconstruct => "numpy _reconstruct",
            Global::NdarrayClass => "numpy ndarray",
            Global::DtypeClass => "numpy dtype",
            Global::CodecsEncode => "_codecs encode",
            Global::FromBuffer => "numpy _frombuffer",
            Global::BytesClass => "bytes",
        }
    }
}

#[derive(Debug)]
pub(super) struct Dtype {
    dtype: DType,
    /// Native ('=') until a BUILD says otherwise; little-endian is native for every file
    /// this reader has to serve.
    order: ByteOrder,
    built: bool,
}

#[derive(Debug, Default)]
pub(super) struct Dict {
    entries: Vec<(Value, Value)>,
    /// Position of each text key, so that a repeated key replaces its value in place as
    /// Python does, in constant time.
    text_keys: HashMap<String, usize>,
}

#[derive(Debug)]
pub(super) enum Obj {
    Str(String),
    Bytes(Vec<u8>, BytesKind),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Box<Dict>),
    Global(Global),
    Dtype(Dtype),
    /// `_reconstruct` made an empty ndarray; its BUILD supplies the content.
    PendingArray,
    Array(Box<Array>),
}

pub(super) fn describe(objs: &[Obj], v: Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Float => "a float",
        Value::Obj(id) => match &objs[id] {
            Obj::Str(_) => "a str",
            Obj::Bytes(_, BytesKind::Bytes) => "a bytes",
            Obj::Bytes(_, BytesKind::ByteArray) => "a bytearray",
            Obj::Bytes(_, BytesKind::Py2Str) => "a python-2 str",
            Obj::Tuple(_) => "a tuple",
            Obj::List(_) => "a list",
            Obj::Dict(_) => "a dict",
            Obj::Global(_) => "a numpy class or function",
            Obj::Dtype(_) => "a numpy dtype",
            Obj::PendingArray | Obj::Array(_) => "a numpy ndarray",
        },
    }
}

/// Text as Python 3 sees it: a str, or a Python 2 str decoded as latin-1.
pub(super) fn text_of(objs: &[Obj], v: Value) -> Option<String> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Str(s) => Some(s.clone()),
            Obj::Bytes(b, BytesKind::Py2Str) => Some(b.iter().map(|&c| char::from(c)).collect()),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn bytes_of(objs: &[Obj], v: Value) -> Option<&[u8]> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Bytes(b, _) => Some(b),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn tuple_of(objs: &[Obj], v: Value) -> Option<&[Value]> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Tuple(items) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn global_of(objs: &[Obj], v: Value) -> Option<Global> {
    match v {
        Value::Obj(id) => match objs[id] {
            Obj::Global(g) => Some(g),
            _ => None,
        },
        _ => None,
    }
}

/// numpy writes flags as bools; very old writers used 0 and 1.
pub(super) fn flag_of(v: Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(b),
        Value::Int(0) => Some(false),
        Value::Int(1) => Some(true),
        _ => None,
    }
}

pub(super) fn dtype_of(objs: &[Obj], v: Value) -> Option<(DType, ByteOrder)> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Dtype(d) => Some((d.dtype, d.order)),
            _ => None,
        },
        _ => None,
    }
}

pub(super) struct Vm<'a> {
    input: &'a [u8],
    pos: usize,
    limits: PickleLimits,
    /// Offset and name of the opcode being run, for messages.
    op_offset: usize,
    op_name: &'static str,
    stack: Vec<Value>,
    /// Stack heights at each open MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    objs: Vec<Obj>,
    array_bytes: usize,
    objects: usize,
}

pub(super) type Res<T> = Result<T, PickleError>;

pub(super) const NDARRAY_STATE: &str = "(1, shape, dtype, is_fortran, data)";
pub(super) const DTYPE_STATE: &str = "(3, byte order, None, None, None, -1, -1, flags)";

impl<'a> Vm<'a> {
    pub(super) fn new(input: &'a [u8], limits: PickleLimits) -> Self {
        Vm {
            input,
            pos: 0,
            limits,
            op_offset: 0,
            op_name: "",
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            objs: Vec::new(),
            array_bytes: 0,
            objects: 0,
        }
    }

    fn malformed<T>(&self, reason: impl Into<String>) -> Res<T> {
        Err(PickleError::Malformed {
            offset: self.op_offset,
            reason: reason.into(),
        })
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Takes `n` bytes of operand, checking the declared length against what is left
    /// before anything is sized by it.
    fn take(&mut self, n: u64) -> Res<&'a [u8]> {
        let rem = self.remaining();
        match usize::try_from(n) {
            Ok(n) if n <= rem => {
                let s = &self.input[self.pos..self.pos + n];
                self.pos += n;
                Ok(s)
            }
            _ => self.malformed(format!(
                "truncated: {} needs {n} bytes of operand, only {rem} remain",
                self.op_name
            )),
        }
    }

    fn take_array<const N: usize>(&mut self) -> Res<[u8; N]> {
        let s = self.take(N as u64)?;
        Ok(s.try_into().expect("take returned N bytes"))
    }

    fn u8_arg(&mut self) -> Res<u8> {
        Ok(self.take_array::<1>()?[0])
    }

    fn u32_arg(&mut self) -> Res<u32> {
        Ok(u32::from_le_bytes(self.take_array()?))
    }

    fn u64_arg(&mut self) -> Res<u64> {
        Ok(u64::from_le_bytes(self.take_array()?))
    }

    /// A newline-terminated operand of GLOBAL.
    fn line(&mut self) -> Res<&'a str> {
        let rest = &self.input[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return self.malformed("truncated: GLOBAL operand has no terminating newline");
        };
        self.pos += end + 1;
        match std::str::from_utf8(&rest[..end]) {
            Ok(s) => Ok(s),
            Err(_) => self.malformed("GLOBAL operand is not UTF-8"),
        }
    }

    fn alloc(&mut self, obj: Obj) -> Res<Value> {
        let items = match &obj {
            Obj::Tuple(items) => items.len(),
            _ => 0,
        };
        self.count_objects(1 + items)?;
        self.objs.push(obj);
        Ok(Value::Obj(self.objs.len() - 1))
    }

    fn count_objects(&mut self, n: usize) -> Res<()> {
        self.objects += n;
        if self.objects > MAX_OBJECTS {
            return Err(PickleError::Limit {
                what: "objects and container items",
                limit: MAX_OBJECTS,
            });
        }
        Ok(())
    }

    fn push(&mut self, v: Value) -> Res<()> {
        if self.stack.len() + self.marks.len() >= self.limits.max_stack_depth {
            return Err(PickleError::Limit {
                what: "stack items and open MARKs",
                limit: self.limits.max_stack_depth,
            });
        }
        self.stack.push(v);
        Ok(())
    }

    fn push_obj(&mut self, obj: Obj) -> Res<()> {
        let v = self.alloc(obj)?;
        self.push(v)
    }

    /// Height below which the current opcode may not pop: the innermost MARK.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Res<Value> {
        if self.stack.len() <= self.floor() {
            return self.malformed(format!(
                "{} needs a value but the stack is empty",
                self.op_name
            ));
        }
        Ok(self.stack.pop().expect("stack above the floor"))
    }

    fn top(&self) -> Res<Value> {
        if self.stack.len() <= self.floor() {
            return self.malformed(format!(
                "{} needs a value but the stack is empty",
                self.op_name
            ));
        }
        Ok(*self.stack.last().expect("stack above the floor"))
    }

    fn pop_n(&mut self, n: usize) -> Res<Vec<Value>> {
        if self.stack.len() < self.floor() + n {
            return self.malformed(format!(
                "{} needs {n} value(s) but the stack holds fewer",
                self.op_name
            ));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self) -> Res<Vec<Value>> {
        let Some(mark) = self.marks.pop() else {
            return self.malformed(format!("{} without a MARK", self.op_name));
        };
        Ok(self.stack.split_off(mark))
    }

    fn memo_put(&mut self, index: u32) -> Res<()> {
        let v = self.top()?;
        let len = self.memo.len();
        match self.memo.entry(index) {
            Entry::Occupied(mut e) => {
                e.insert(v);
            }
            Entry::Vacant(e) => {
                if len >= self.limits.max_memo_entries {
                    return Err(PickleError::Limit {
                        what: "memo entries",
                        limit: self.limits.max_memo_entries,
                    });
                }
                e.insert(v);
            }
        }
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> Res<()> {
        match self.memo.get(&index) {
            Some(&v) => self.push(v),
            None => self.malformed(format!("memo slot {index} was read before it was written")),
        }
    }

    fn global(&mut self, module: &str, name: &str) -> Res<()> {
        match Global::resolve(module, name) {
            Some(g) => self.push_obj(Obj::Global(g)),
            None => Err(PickleError::Unsafe {
                module: module.to_owned(),
                name: name.to_owned(),
            }),
        }
    }

    fn list_id(&self, v: Value) -> Res<ObjId> {
        match v {
            Value::Obj(id) if matches!(self.objs[id], Obj::List(_)) => Ok(id),
            _ => self.malformed(format!(
                "{} on {}, expected a list",
                self.op_name,
                describe(&self.objs, v)
            )),
        }
    }

    fn extend_list(&mut self, list: Value, items: Vec<Value>) -> Res<()> {
        let id = self.list_id(list)?;
        self.count_objects(items.len())?;
        if let Obj::List(l) = &mut self.objs[id] {
            l.extend(items);
        }
        Ok(())
    }

    fn set_items(&mut self, dict: Value, items: Vec<Value>) -> Res<()> {
        let id = match dict {
            Value::Obj(id) if matches!(self.objs[id], Obj::Dict(_)) => id,
            _ => {
                return self.malformed(format!(
                    "{} on {}, expected a dict",
                    self.op_name,
                    describe(&self.objs, dict)
                ))
            }
        };
        if items.len() % 2 != 0 {
            return self.malformed(format!(
                "{} with an odd number of keys and values",
                self.op_name
            ));
        }
        self.count_objects(items.len())?;
        for pair in items.chunks_exact(2) {
            let (key, value) = (pair[0], pair[1]);
            if let Value::Obj(k) = key {
                if matches!(
                    self.objs[k],
                    Obj::List(_) | Obj::Dict(_) | Obj::PendingArray | Obj::Array(_)
                ) {
                    return self.malformed(format!(
                        "{} as a dict key is unhashable",
                        describe(&self.objs, key)
                    ));
                }
            }
            let text = text_of(&self.objs, key);
            let Obj::Dict(d) = &mut self.objs[id] else {
                unreachable!("checked above")
            };
            match text {
                Some(text) => match d.text_keys.entry(text) {
                    Entry::Occupied(e) => d.entries[*e.get()].1 = value,
                    Entry::Vacant(e) => {
                        e.insert(d.entries.len());
                        d.entries.push((key, value));
                    }
                },
                // Other keys can never be part of a valid result; keeping them is enough
                // to report them.
                None => d.entries.push((key, value)),
            }
        }
        Ok(())
    }

    /// Runs to STOP; returns the result and the STOP's offset.
    pub(super) fn run(&mut self) -> Res<(Value, usize)> {
        match self.input.first() {
            None => return self.malformed("the file is empty"),
            Some(&op::PROTO) => {}
            Some(&b) => {
                return self.malformed(format!(
                    "not a pickle of protocol 2 to 5: starts with 0x{b:02x}, not PROTO"
                ))
            }
        }
        loop {
            self.op_offset = self.pos;
            let Some(&code) = self.input.get(self.pos) else {
                return self.malformed("truncated: the pickle ends before its STOP opcode");
            };
            self.pos += 1;
            self.step(code)?;
            if code == op::STOP {
                let result = self.stack.pop().expect("STOP pushed its result back");
                return Ok((result, self.op_offset));
            }
        }
    }

    fn step(&mut self, code: u8) -> Res<()> {
        self.op_name = "opcode";
        match code {
            op::PROTO => {
                self.op_name = "PROTO";
                let v = self.u8_arg()?;
                if !(2..=5).contains(&v) {
                    return self.malformed(format!("protocol {v} is not supported (2 to 5 are)"));
                }
            }
            op::FRAME => {
                self.op_name = "FRAME";
                // Frames only help a streaming reader; the whole file is in memory, but a
                // frame that overruns the file means it was cut short.
                let len = self.u64_arg()?;
                if len > self.remaining() as u64 {
                    return self.malformed(format!(
                        "truncated: FRAME declares {len} bytes, only {} remain",
                        self.remaining()
                    ));
                }
            }
            op::STOP => {
                self.op_name = "STOP";
                let result = self.pop()?;
                if !self.marks.is_empty() {
                    return self.malformed("STOP inside an unclosed MARK");
                }
                if !self.stack.is_empty() {
                    return self.malformed(format!(
                        "STOP leaves {} value(s) on the stack besides the result",
                        self.stack.len()
                    ));
                }
                if self.remaining() > 0 {
                    return self
                        .malformed(format!("{} bytes follow the STOP opcode", self.remaining()));
                }
                self.stack.push(result);
            }
            op::MARK => {
                self.op_name = "MARK";
                if self.stack.len() + self.marks.len() >= self.limits.max_stack_depth {
                    return Err(PickleError::Limit {
                        what: "stack items and open MARKs",
                        limit: self.limits.max_stack_depth,
                    });
                }
                self.marks.push(self.stack.len());
            }
            op::POP => {
                self.op_name = "POP";
                // As in CPython: POP on an empty frame discards the MARK itself.
                if self.stack.len() > self.floor() {
                    self.stack.pop();
                } else if self.marks.pop().is_none() {
                    return self.malformed("POP on an empty stack");
                }
            }
            op::POP_MARK => {
                self.op_name = "POP_MARK";
                self.pop_mark()?;
            }
            op::DUP => {
                self.op_name = "DUP";
                let v = self.top()?;
                self.push(v)?;
            }
            op::EMPTY_DICT => self.push_obj(Obj::Dict(Box::default()))?,
            op::EMPTY_LIST => self.push_obj(Obj::List(Vec::new()))?,
            op::EMPTY_TUPLE => self.push_obj(Obj::Tuple(Vec::new()))?,
            op::TUPLE => {
                self.op_name = "TUPLE";
                let items = self.pop_mark()?;
                self.push_obj(Obj::Tuple(items))?;
            }
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                self.op_name = ["TUPLE1", "TUPLE2", "TUPLE3"][usize::from(code - op::TUPLE1)];
                let items = self.pop_n(usize::from(code - op::TUPLE1) + 1)?;
                self.push_obj(Obj::Tuple(items))?;
            }
            op::SETITEM => {
                self.op_name = "SETITEM";
                let items = self.pop_n(2)?;
                let dict = self.top()?;
                self.set_items(dict, items)?;
            }
            op::SETITEMS => {
                self.op_name = "SETITEMS";
                let items = self.pop_mark()?;
                let dict = self.top()?;
                self.set_items(dict, items)?;
            }
            op::APPEND => {
                self.op_name = "APPEND";
                let item = self.pop()?;
                let list = self.top()?;
                self.extend_list(list, vec![item])?;
            }
            op::APPENDS => {
                self.op_name = "APPENDS";
                let items = self.pop_mark()?;
                let list = self.top()?;
                self.extend_list(list, items)?;
            }
            op::BININT => {
                self.op_name = "BININT";
                let v = i32::from_le_bytes(self.take_array()?);
                self.push(Value::Int(v.into()))?;
            }
            op::BININT1 => {
                self.op_name = "BININT1";
                let v = self.u8_arg()?;
                self.push(Value::Int(v.into()))?;
            }
            op::BININT2 => {
                self.op_name = "BININT2";
                let v = u16::from_le_bytes(self.take_array()?);
                self.push(Value::Int(v.into()))?;
            }
            op::LONG1 => {
                self.op_name = "LONG1";
                let n = self.u8_arg()?;
                let digits = self.take(n.into())?;
                if digits.len() > 8 {
                    return self.malformed(format!(
                        "LONG1 integer of {n} bytes does not fit in 64 bits"
                    ));
                }
                // Little-endian two's complement, sign-extended from its top byte.
                let fill = if digits.last().is_some_and(|&b| b & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut buf = [fill; 8];
                buf[..digits.len()].copy_from_slice(digits);
                self.push(Value::Int(i64::from_le_bytes(buf)))?;
            }
            op::NONE => self.push(Value::None)?,
            op::NEWTRUE => self.push(Value::Bool(true))?,
            op::NEWFALSE => self.push(Value::Bool(false))?,
            op::BINFLOAT => {
                self.op_name = "BINFLOAT";
                self.take_array::<8>()?;
                self.push(Value::Float)?;
            }
            op::BINUNICODE | op::SHORT_BINUNICODE | op::BINUNICODE8 => {
                let len = match code {
                    op::SHORT_BINUNICODE => {
                        self.op_name = "SHORT_BINUNICODE";
                        self.u8_arg()?.into()
                    }
                    op::BINUNICODE => {
                        self.op_name = "BINUNICODE";
                        self.u32_arg()?.into()
                    }
                    _ => {
                        self.op_name = "BINUNICODE8";
                        self.u64_arg()?
                    }
                };
                let raw = self.take(len)?;
                let Ok(s) = std::str::from_utf8(raw) else {
                    return self.malformed(format!("{} string is not valid UTF-8", self.op_name));
                };
                self.push_obj(Obj::Str(s.to_owned()))?;
            }
            op::BINSTRING | op::SHORT_BINSTRING => {
                let len = if code == op::SHORT_BINSTRING {
                    self.op_name = "SHORT_BINSTRING";
                    self.u8_arg()?.into()
                } else {
                    self.op_name = "BINSTRING";
                    let n = i32::from_le_bytes(self.take_array()?);
                    match u64::try_from(n) {
                        Ok(n) => n,
                        Err(_) => {
                            return self.malformed(format!("BINSTRING with negative length {n}"))
                        }
                    }
                };
                let raw = self.take(len)?;
                self.push_obj(Obj::Bytes(raw.to_vec(), BytesKind::Py2Str))?;
            }
            op::BINBYTES | op::SHORT_BINBYTES | op::BINBYTES8 | op::BYTEARRAY8 => {
                let (len, kind) = match code {
                    op::SHORT_BINBYTES => {
                        self.op_name = "SHORT_BINBYTES";
                        (self.u8_arg()?.into(), BytesKind::Bytes)
                    }
                    op::BINBYTES => {
                        self.op_name = "BINBYTES";
                        (self.u32_arg()?.into(), BytesKind::Bytes)
                    }
                    op::BINBYTES8 => {
                        self.op_name = "BINBYTES8";
                        (self.u64_arg()?, BytesKind::Bytes)
                    }
                    _ => {
                        self.op_name = "BYTEARRAY8";
                        (self.u64_arg()?, BytesKind::ByteArray)
                    }
                };
                let raw = self.take(len)?;
                self.push_obj(Obj::Bytes(raw.to_vec(), kind))?;
            }
            op::BINPUT => {
                self.op_name = "BINPUT";
                let i = self.u8_arg()?;
                self.memo_put(i.into())?;
            }
            op::LONG_BINPUT => {
                self.op_name = "LONG_BINPUT";
                let i = self.u32_arg()?;
                self.memo_put(i)?;
            }
            op::MEMOIZE => {
                self.op_name = "MEMOIZE";
                let Ok(i) = u32::try_from(self.memo.len()) else {
                    return self.malformed("memo is full");
                };
                self.memo_put(i)?;
            }
            op::BINGET => {
                self.op_name = "BINGET";
                let i = self.u8_arg()?;
                self.memo_get(i.into())?;
            }
            op::LONG_BINGET => {
                self.op_name = "LONG_BINGET";
                let i = self.u32_arg()?;
                self.memo_get(i)?;
            }
            op::GLOBAL => {
                self.op_name = "GLOBAL";
                let module = self.line()?;
                let name = self.line()?;
                self.global(module, name)?;
            }
            op::STACK_GLOBAL => {
                self.op_name = "STACK_GLOBAL";
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(module), Some(name)) = (self.str_of(module), self.str_of(name)) else {
                    return self.malformed("STACK_GLOBAL needs a module and a name as str");
                };
                self.global(&module, &name)?;
            }
            op::REDUCE => {
                self.op_name = "REDUCE";
                let args = self.pop()?;
                let callable = self.pop()?;
                let obj = self.reduce(callable, args)?;
                self.push_obj(obj)?;
            }
            op::BUILD => {
                self.op_name = "BUILD";
                let state = self.pop()?;
                let target = self.top()?;
                self.build(target, state)?;
            }
            _ => {
                return match refused_opcode(code) {
                    Some((name, why)) => self.malformed(format!(
                        "opcode {name} (0x{code:02x}) is not supported: {why}"
                    )),
                    None => self.malformed(format!("unknown opcode 0x{code:02x}")),
                };
            }
        }
        Ok(())
    }

    fn str_of(&self, v: Value) -> Option<String> {
        match v {
            Value::Obj(id) => match &self.objs[id] {
                Obj::Str(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Interprets a call of an allowed global: the only "calls" a file can make.
    fn reduce(&mut self, callable: Value, args: Value) -> Res<Obj> {
        let Some(global) = global_of(&self.objs, callable) else {
            return self.malformed(format!("REDUCE calls {}", describe(&self.objs, callable)));
        };
        let Some(args) = tuple_of(&self.objs, args) else {
            return self.malformed(format!(
                "REDUCE of {} with {} as arguments, expected a tuple",
                global.name(),
                describe(&self.objs, args)
            ));
        };
        let objs = &self.objs;
        let bad_args = |expected: &str| -> Res<Obj> {
            let got: Vec<&str> = args.iter().map(|&a| describe(objs, a)).collect();
            self.malformed(format!(
                "{} called with ({}), expected ({expected})",
                global.name(),
                got.join(", ")
            ))
        };
        match global {
            Global::Reconstruct => {
                let ok = match args {
                    [cls, shape, code] => {
                        global_of(objs, *cls) == Some(Global::NdarrayClass)
                            && self.shape_of(*shape).is_some()
                            && bytes_of(objs, *code).is_some()
                    }
                    _ => false,
                };
                if !ok {
                    return bad_args("numpy ndarray, a shape tuple, a type code");
                }
                Ok(Obj::PendingArray)
            }
            Global::DtypeClass => {
                let [code, align, copy] = args else {
                    return bad_args("a type code such as 'f4', False, True");
                };
                let (Some(code), Some(_), Some(_)) =
                    (text_of(objs, *code), flag_of(*align), flag_of(*copy))
                else {
                    return bad_args("a type code such as 'f4', False, True");
                };
                let dtype = self.parse_type_code(&code)?;
                Ok(Obj::Dtype(Dtype {
                    dtype,
                    order: ByteOrder::Little,
                    built: false,
                }))
            }
            Global::CodecsEncode => {
                let [text, encoding] = args else {
                    return bad_args("a str, 'latin1'");
                };
                let (Some(text), Some(encoding)) = (self.str_of(*text), self.str_of(*encoding))
                else {
                    return bad_args("a str, 'latin1'");
                };
                if !matches!(encoding.as_str(), "latin1" | "latin-1") {
                    return self.malformed(format!(
                        "_codecs encode with encoding '{}', only latin1 is read",
                        quoted(&encoding)
                    ));
                }
                let mut out = Vec::with_capacity(text.len());
                for c in text.chars() {
                    match u8::try_from(u32::from(c)) {
                        Ok(b) => out.push(b),
                        Err(_) => {
                            return self.malformed(format!(
                                "_codecs encode: character U+{:04X} is not latin-1",
                                u32::from(c)
                            ))
                        }
                    }
                }
                Ok(Obj::Bytes(out, BytesKind::Bytes))
            }
            Global::BytesClass => {
                if !args.is_empty() {
                    return bad_args("");
                }
                Ok(Obj::Bytes(Vec::new(), BytesKind::Bytes))
            }
            Global::FromBuffer => {
                let expected = "a buffer, a numpy dtype, a shape tuple, 'C' or 'F'";
                let [buf, dtype, shape, order] = args else {
                    return bad_args(expected);
                };
                let (Some(_), Some((dtype, byte_order)), Some(shape), Some(order)) = (
                    bytes_of(objs, *buf),
                    dtype_of(objs, *dtype),
                    self.shape_of(*shape),
                    self.str_of(*order),
                ) else {
                    return bad_args(expected);
                };
                let fortran = match order.as_str() {
                    "C" => false,
                    "F" => true,
                    other => {
                        return self.malformed(format!(
                            "_frombuffer with order '{}', expected 'C' or 'F'",
                            quoted(other)
                        ))
                    }
                };
                let buf = *buf;
                let array = self.make_array(dtype, byte_order, shape, fortran, buf)?;
                Ok(Obj::Array(Box::new(array)))
            }
            Global::NdarrayClass => {
                self.malformed("numpy ndarray is called directly; only _reconstruct may use it")
            }
        }
    }

    /// A shape: a tuple of non-negative ints.
    fn shape_of(&self, v: Value) -> Option<Vec<usize>> {
        tuple_of(&self.objs, v)?
            .iter()
            .map(|d| match d {
                Value::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect()
    }

    fn parse_type_code(&self, code: &str) -> Res<DType> {
        let mut chars = code.chars();
        let kind = chars.next().unwrap_or(' ');
        let size = chars.as_str().parse::<usize>().ok();
        if let Some(dtype) = size.and_then(|s| DType::from_kind_and_size(kind, s)) {
            return Ok(dtype);
        }
        let what = match kind {
            'O' => "object",
            'U' => "unicode string",
            'S' | 'a' => "byte string",
            'V' => "void or structured",
            'c' => "complex",
            'M' => "datetime",
            'm' => "timedelta",
            'f' | 'i' | 'u' | 'b' => "number of an unsupported size",
            _ => "unknown",
        };
        self.malformed(format!(
            "dtype '{}' ({what}) is not supported: feature arrays must be bool, integer or float",
            quoted(code)
        ))
    }

    /// Builds the normal form, charging its bytes to the file's array budget first.
    fn make_array(
        &mut self,
        dtype: DType,
        order: ByteOrder,
        shape: Vec<usize>,
        fortran: bool,
        raw: Value,
    ) -> Res<Array> {
        let Some(len) = data_len(dtype, &shape) else {
            return self.malformed(format!(
                "array shape {shape:?} of {dtype} overflows the address space"
            ));
        };
        self.charge(len)?;
        let raw = bytes_of(&self.objs, raw).expect("caller checked the buffer");
        Array::from_raw(dtype, order, shape, fortran, raw)
            .or_else(|e| self.malformed(format!("array data: {e}")))
    }

    fn charge(&mut self, len: usize) -> Res<()> {
        match self.array_bytes.checked_add(len) {
            Some(total) if total <= self.limits.max_array_bytes => {
                self.array_bytes = total;
                Ok(())
            }
            _ => Err(PickleError::Limit {
                what: "array bytes",
                limit: self.limits.max_array_bytes,
            }),
        }
    }

    /// BUILD sets the state of a dtype (its byte order) or of an ndarray (its content).
    fn build(&mut self, target: Value, state: Value) -> Res<()> {
        let id = match target {
            Value::Obj(id) if matches!(self.objs[id], Obj::Dtype(_) | Obj::PendingArray) => id,
            _ => {
                return self.malformed(format!(
                    "BUILD on {}: only a numpy dtype or a new ndarray takes a state",
                    describe(&self.objs, target)
                ))
            }
        };
        let Some(items) = tuple_of(&self.objs, state) else {
            return self.malformed(format!(
                "BUILD state is {}, expected a tuple",
                describe(&self.objs, state)
            ));
        };
        if let Obj::Dtype(d) = &self.objs[id] {
            if d.built {
                return self.malformed("BUILD on a numpy dtype that already has its state");
            }
            let order = self.dtype_state(items)?;
            if let Obj::Dtype(d) = &mut self.objs[id] {
                d.order = order;
                d.built = true;
            }
            return Ok(());
        }
        // numpy writes (version 1, shape, dtype, is_fortran, rawdata); versionless 4-tuples
        // come from numpy releases before the version field.
        let rest = match items {
            [Value::Int(1), rest @ ..] if rest.len() == 4 => rest,
            [_, _, _, _] => items,
            _ => {
                return self.malformed(format!(
                    "ndarray state is a tuple of {} items, expected {NDARRAY_STATE}",
                    items.len()
                ))
            }
        };
        let [shape, dtype, fortran, raw] = rest else {
            unreachable!("length checked above")
        };
        let (raw_v, shape_v) = (*raw, *shape);
        let Some(shape) = self.shape_of(shape_v) else {
            return self.malformed(format!(
                "ndarray shape is {}, expected a tuple of non-negative ints",
                describe(&self.objs, shape_v)
            ));
        };
        let Some((dtype, order)) = dtype_of(&self.objs, *dtype) else {
            return self.malformed(format!(
                "ndarray dtype is {}, expected a numpy dtype",
                describe(&self.objs, *dtype)
            ));
        };
        let Some(fortran) = flag_of(*fortran) else {
            return self.malformed(format!(
                "ndarray is_fortran flag is {}, expected a bool",
                describe(&self.objs, *fortran)
            ));
        };
        if bytes_of(&self.objs, raw_v).is_none() {
            return self.malformed(format!(
                "ndarray data is {}, expected bytes",
                describe(&self.objs, raw_v)
            ));
        }
        let array = self.make_array(dtype, order, shape, fortran, raw_v)?;
        self.objs[id] = Obj::Array(Box::new(array));
        Ok(())
    }

    /// Reads the byte order out of a dtype state `(3, order, None, None, None, -1, -1, flags)`
    /// (version 4 appends metadata); other content would mean a sub-array or structured type.
    fn dtype_state(&self, items: &[Value]) -> Res<ByteOrder> {
        let version_ok = matches!(items, [Value::Int(3), ..] if items.len() == 8)
            || matches!(items, [Value::Int(4), ..] if items.len() == 9);
        if !version_ok {
            return self.malformed(format!(
                "numpy dtype state is a tuple of {} items, expected {DTYPE_STATE}",
                items.len()
            ));
        }
        if !items[2..5].iter().all(|v| matches!(v, Value::None)) {
            return self.malformed(
                "numpy dtype state describes a sub-array or structured type: not supported",
            );
        }
        match text_of(&self.objs, items[1]).as_deref() {
            Some("<" | "|" | "=") => Ok(ByteOrder::Little),
            Some(">") => Ok(ByteOrder::Big),
            Some(other) => self.malformed(format!(
                "numpy dtype byte order '{}', expected <, >, | or =",
                quoted(other)
            )),
            None => self.malformed(format!(
                "numpy dtype byte order is {}, expected a str",
                describe(&self.objs, items[1])
            )),
        }
    }

    /// Turns the unpickled result into the output, checking that it is what SFHQ writes.
    pub(super) fn feature_dict(
        &mut self,
        result: Value,
        stop_offset: usize,
    ) -> Res<Vec<(String, Array)>> {
        self.op_offset = stop_offset;
        let dict = match result {
            Value::Obj(id) => match &mut self.objs[id] {
                Obj::Dict(d) => Some(std::mem::take(&mut d.entries)),
                _ => None,
            },
            _ => None,
        };
        let Some(dict) = dict else {
            return self.malformed(format!(
                "top-level object is {}, expected a dict of model name -> array",
                describe(&self.objs, result)
            ));
        };
        let mut out = Vec::with_capacity(dict.len());
        let mut emitted = HashSet::new();
        for (key, value) in dict {
            let Some(name) = text_of(&self.objs, key) else {
                return self.malformed(format!(
                    "a dict key is {}, expected a model name string",
                    describe(&self.objs, key)
                ));
            };
            let array = match value {
                Value::Obj(id) => match &self.objs[id] {
                    Obj::Array(a) => Some((id, a.as_ref())),
                    Obj::PendingArray => {
                        return self.malformed(format!(
                            "the ndarray for '{}' never received its data (no BUILD)",
                            quoted(&name)
                        ))
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some((id, array)) = array else {
                return self.malformed(format!(
                    "the value for '{}' is {}, expected a numpy array",
                    quoted(&name),
                    describe(&self.objs, value)
                ));
            };
            // The first use was charged when the array was built; a repeat through the
            // memo is a new copy in the output and must be paid for.
            let len = array.data.len();
            if !emitted.insert(id) {
                self.charge(len)?;
            }
            let Obj::Array(array) = &self.objs[id] else {
                unreachable!("matched above")
            };
            out.push((name, array.as_ref().clone()));
        }
        Ok(out)
    }
}
