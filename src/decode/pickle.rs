//! Reads SFHQ `pretrained_features/*.pickle` files without executing them.
//!
//! A pickle is a program for a stack machine, and its `GLOBAL`/`REDUCE` opcodes import and
//! call any Python function the file names: `pickle.load` (and numpy's `allow_pickle=True`)
//! runs `os.system` as readily as `numpy.dtype`. So this reader is its own small machine
//! with an allow-list: it knows the handful of globals that numpy's array pickling emits
//! and interprets each of them symbolically, building typed values, never calling
//! anything. Any other global refuses the whole file as [`PickleError::Unsafe`], at the
//! moment the global is named, because Python would already have imported its module then.
//!
//! What it accepts, and nothing more:
//! - protocols 2 to 5, binary opcodes only (protocol 0/1 text opcodes, persistent ids,
//!   extension registry codes, sets, `NEWOBJ` and out-of-band buffers are refused);
//! - the globals `numpy.core.multiarray _reconstruct` / `numpy._core.multiarray _reconstruct`
//!   (numpy 1.x / 2.x spelling) with `numpy ndarray`, `numpy dtype`, `_codecs encode` (how
//!   protocol 2 carries bytes, as a latin-1 string), `__builtin__ bytes` / `builtins bytes`
//!   with no arguments (how protocol 2 carries the empty data of an empty array), and
//!   `numpy.core.numeric _frombuffer` / `numpy._core.numeric _frombuffer` (protocol 5);
//! - as the result, a dict of model name -> numpy array of a [`DType`], which comes out
//!   in the dict's insertion order, normalised to little-endian C order.
//!
//! A crafted file must not exhaust memory or stack either. The machine is a loop over an
//! explicit stack; objects live in one arena and refer to each other by index, so nothing
//! (not even dropping a deeply nested tuple) recurses on input-controlled depth. Every
//! length prefix is checked against the remaining input before anything is allocated.
//! [`PickleLimits`] bounds the stack, the memo and the array bytes, and [`MAX_OBJECTS`]
//! the objects and container items, which cost tens of bytes each however few input bytes
//! made them (a chain of one-byte `TUPLE1` opcodes would otherwise turn 32 MiB of input
//! into 2 GiB). What remains, strings and bytes, is bounded by the input size.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use super::array::{data_len, Array, ByteOrder, DType};

/// Objects (strings, tuples, lists, dicts, numpy values) and items placed in containers
/// that one file may create. A numpy feature pickle needs a few dozen per array.
pub const MAX_OBJECTS: usize = 1_000_000;

/// Limits that keep a crafted file from exhausting memory or stack.
#[derive(Debug, Clone, Copy)]
pub struct PickleLimits {
    /// Size of the whole pickle file.
    pub max_input_bytes: usize,
    /// Distinct memo slots the file may fill (`BINPUT`, `LONG_BINPUT`, `MEMOIZE`).
    pub max_memo_entries: usize,
    /// Items on the stack + nesting of MARKs.
    pub max_stack_depth: usize,
    /// Bytes of array data one file may decode to, each array and all of them together
    /// (arrays shared through the memo count once per use, so sharing cannot amplify).
    pub max_array_bytes: usize,
}

impl Default for PickleLimits {
    fn default() -> Self {
        PickleLimits {
            max_input_bytes: 64 << 20,
            max_memo_entries: 10_000,
            max_stack_depth: 10_000,
            max_array_bytes: 64 << 20,
        }
    }
}

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// A global outside the allow-list: the file would run code under pickle.load.
    #[error(
        "global '{}' is not allowed: a pickle.load of this file would run it",
        shown_global(.module, .name)
    )]
    Unsafe { module: String, name: String },
    /// Not a pickle, truncated, an unknown or unsupported opcode, a wrong shape of data.
    #[error("malformed pickle at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    /// A limit was hit (say which and the value).
    #[error("the pickle exceeds the limit of {limit} {what}")]
    Limit { what: &'static str, limit: usize },
}

/// Decodes a pickled dict of str -> numpy array, in the dict's insertion order.
pub fn read_feature_dict(
    bytes: &[u8],
    limits: &PickleLimits,
) -> Result<Vec<(String, Array)>, PickleError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(PickleError::Limit {
            what: "input bytes",
            limit: limits.max_input_bytes,
        });
    }
    let mut vm = Vm::new(bytes, *limits);
    let (result, stop_offset) = vm.run()?;
    vm.feature_dict(result, stop_offset)
}

/// Longest module, name, key or code quoted in a message: the file chooses them.
const MAX_QUOTED_CHARS: usize = 120;

/// Quotes file-controlled text so that control characters cannot forge log lines and a
/// huge string cannot flood a report.
fn quoted(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_QUOTED_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn shown_global(module: &str, name: &str) -> String {
    format!("{} {}", quoted(module), quoted(name))
}

mod op {
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const BINFLOAT: u8 = b'G';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const REDUCE: u8 = b'R';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const APPENDS: u8 = b'e';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const SETITEMS: u8 = b'u';
    pub const EMPTY_DICT: u8 = b'}';
    pub const EMPTY_LIST: u8 = b']';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const PROTO: u8 = 0x80;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;
}

/// Names of the opcodes this reader knows but refuses, so that the message says which.
fn refused_opcode(code: u8) -> Option<(&'static str, &'static str)> {
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

type ObjId = usize;

/// A stack or memo slot. Scalars are inline; everything else lives in the arena, so a
/// value is `Copy` and sharing through the memo never copies data.
#[derive(Debug, Clone, Copy)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// No structure this reader accepts uses a float's value, so it is not kept.
    Float,
    Obj(ObjId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BytesKind {
    Bytes,
    ByteArray,
    /// A Python 2 `str` (BINSTRING): bytes that Python 3 reads as latin-1 text.
    Py2Str,
}

/// The allowed globals, each of which the machine interprets itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
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
struct Dtype {
    dtype: DType,
    /// Native ('=') until a BUILD says otherwise; little-endian is native for every file
    /// this reader has to serve.
    order: ByteOrder,
    built: bool,
}

#[derive(Debug, Default)]
struct Dict {
    entries: Vec<(Value, Value)>,
    /// Position of each text key, so that a repeated key replaces its value in place as
    /// Python does, in constant time.
    text_keys: HashMap<String, usize>,
}

#[derive(Debug)]
enum Obj {
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

fn describe(objs: &[Obj], v: Value) -> &'static str {
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
fn text_of(objs: &[Obj], v: Value) -> Option<String> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Str(s) => Some(s.clone()),
            Obj::Bytes(b, BytesKind::Py2Str) => Some(b.iter().map(|&c| char::from(c)).collect()),
            _ => None,
        },
        _ => None,
    }
}

fn bytes_of(objs: &[Obj], v: Value) -> Option<&[u8]> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Bytes(b, _) => Some(b),
            _ => None,
        },
        _ => None,
    }
}

fn tuple_of(objs: &[Obj], v: Value) -> Option<&[Value]> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Tuple(items) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

fn global_of(objs: &[Obj], v: Value) -> Option<Global> {
    match v {
        Value::Obj(id) => match objs[id] {
            Obj::Global(g) => Some(g),
            _ => None,
        },
        _ => None,
    }
}

/// numpy writes flags as bools; very old writers used 0 and 1.
fn flag_of(v: Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(b),
        Value::Int(0) => Some(false),
        Value::Int(1) => Some(true),
        _ => None,
    }
}

fn dtype_of(objs: &[Obj], v: Value) -> Option<(DType, ByteOrder)> {
    match v {
        Value::Obj(id) => match &objs[id] {
            Obj::Dtype(d) => Some((d.dtype, d.order)),
            _ => None,
        },
        _ => None,
    }
}

struct Vm<'a> {
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

type Res<T> = Result<T, PickleError>;

const NDARRAY_STATE: &str = "(1, shape, dtype, is_fortran, data)";
const DTYPE_STATE: &str = "(3, byte order, None, None, None, -1, -1, flags)";

impl<'a> Vm<'a> {
    fn new(input: &'a [u8], limits: PickleLimits) -> Self {
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
    fn run(&mut self) -> Res<(Value, usize)> {
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
    fn feature_dict(&mut self, result: Value, stop_offset: usize) -> Res<Vec<(String, Array)>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Vec<(String, Array)>, PickleError> {
        read_feature_dict(bytes, &PickleLimits::default())
    }

    fn malformed(bytes: &[u8]) -> (usize, String) {
        match read(bytes) {
            Err(PickleError::Malformed { offset, reason }) => (offset, reason),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn unsafe_global(bytes: &[u8]) -> (String, String) {
        match read(bytes) {
            Err(PickleError::Unsafe { module, name }) => (module, name),
            other => panic!("expected Unsafe, got {other:?}"),
        }
    }

    fn f16s(values: &[f64]) -> Vec<f64> {
        values
            .iter()
            .map(|&v| half::f16::from_f64(v).to_f64())
            .collect()
    }

    /// Writes crafted pickles opcode by opcode.
    struct Pk(Vec<u8>);

    impl Pk {
        fn new(protocol: u8) -> Pk {
            Pk(vec![op::PROTO, protocol])
        }
        fn op(mut self, code: u8) -> Pk {
            self.0.push(code);
            self
        }
        fn raw(mut self, bytes: &[u8]) -> Pk {
            self.0.extend_from_slice(bytes);
            self
        }
        fn str(self, s: &str) -> Pk {
            let len = u32::try_from(s.len()).unwrap();
            self.op(op::BINUNICODE)
                .raw(&len.to_le_bytes())
                .raw(s.as_bytes())
        }
        fn py2str(self, b: &[u8]) -> Pk {
            let len = u8::try_from(b.len()).unwrap();
            self.op(op::SHORT_BINSTRING).raw(&[len]).raw(b)
        }
        fn bytes(self, b: &[u8]) -> Pk {
            let len = u32::try_from(b.len()).unwrap();
            self.op(op::BINBYTES).raw(&len.to_le_bytes()).raw(b)
        }
        fn int(self, v: i32) -> Pk {
            self.op(op::BININT).raw(&v.to_le_bytes())
        }
        fn global(self, module: &str, name: &str) -> Pk {
            self.str(module).str(name).op(op::STACK_GLOBAL)
        }
        fn tuple_of_ints(self, values: &[i32]) -> Pk {
            values
                .iter()
                .fold(self.op(op::MARK), |p, &v| p.int(v))
                .op(op::TUPLE)
        }
        /// Pushes a numpy dtype with its BUILD, as numpy writes it.
        fn dtype(self, code: &str, order: &str) -> Pk {
            self.global("numpy", "dtype")
                .str(code)
                .op(op::NEWFALSE)
                .op(op::NEWTRUE)
                .op(op::TUPLE3)
                .op(op::REDUCE)
                .op(op::MARK)
                .int(3)
                .str(order)
                .op(op::NONE)
                .op(op::NONE)
                .op(op::NONE)
                .int(-1)
                .int(-1)
                .int(0)
                .op(op::TUPLE)
                .op(op::BUILD)
        }
        /// Pushes an array in numpy's protocol 5 form.
        fn frombuffer(self, data: &[u8], code: &str, shape: &[i32], layout: &str) -> Pk {
            self.global("numpy._core.numeric", "_frombuffer")
                .op(op::MARK)
                .bytes(data)
                .dtype(code, "<")
                .tuple_of_ints(shape)
                .str(layout)
                .op(op::TUPLE)
                .op(op::REDUCE)
        }
        fn f32_array(self, values: &[f32]) -> Pk {
            let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let len = i32::try_from(values.len()).unwrap();
            self.frombuffer(&data, "f4", &[1, len], "C")
        }
        fn stop(self) -> Vec<u8> {
            self.op(op::STOP).0
        }
    }

    /// A one-entry feature dict `{"m": array}` whose array comes from `array`.
    fn feature_dict_with(array: impl FnOnce(Pk) -> Pk) -> Vec<u8> {
        array(Pk::new(4).op(op::EMPTY_DICT).str("m"))
            .op(op::SETITEM)
            .stop()
    }

    const F16_FIXTURES: [&[u8]; 8] = [
        NP1_P2_F16, NP1_P3_F16, NP1_P4_F16, NP1_P5_F16, NP2_P2_F16, NP2_P3_F16, NP2_P4_F16,
        NP2_P5_F16,
    ];
    const DTYPE_FIXTURES: [&[u8]; 4] = [NP1_P3_DTYPES, NP1_P4_DTYPES, NP2_P2_DTYPES, NP2_P5_DTYPES];
    const LAYOUT_FIXTURES: [&[u8]; 8] = [
        NP1_P2_LAYOUTS,
        NP1_P3_LAYOUTS,
        NP1_P4_LAYOUTS,
        NP1_P5_LAYOUTS,
        NP2_P2_LAYOUTS,
        NP2_P3_LAYOUTS,
        NP2_P4_LAYOUTS,
        NP2_P5_LAYOUTS,
    ];
    const OTHER_VALID_FIXTURES: [&[u8]; 6] = [
        NP2_P4_TWO_MODELS,
        NP2_P4_SHARED,
        NP2_P2_EMPTY,
        NP2_P5_STRIDED,
        NP2_P5_READONLY,
        NP2_P4_ZERO_DIM,
    ];
    const HOSTILE_FIXTURES: [&[u8]; 12] = [
        HOSTILE_P2_OS_SYSTEM,
        HOSTILE_P4_OS_SYSTEM,
        HOSTILE_P4_EVAL,
        HOSTILE_P2_EVAL,
        HOSTILE_P5_POPEN,
        NP2_P4_SCALAR,
        NP2_P5_OUT_OF_BAND,
        NP2_P4_OBJECT,
        NP2_P4_UNICODE,
        NP2_P4_COMPLEX,
        NP2_P4_LIST_VALUE,
        NP2_P4_TOP_LIST,
    ];

    fn valid_fixtures() -> Vec<&'static [u8]> {
        F16_FIXTURES
            .iter()
            .chain(&DTYPE_FIXTURES)
            .chain(&LAYOUT_FIXTURES)
            .chain(&OTHER_VALID_FIXTURES)
            .copied()
            .collect()
    }

    #[test]
    fn reads_float16_from_numpy_1_and_2_in_protocols_2_to_5() {
        for (i, fixture) in F16_FIXTURES.iter().enumerate() {
            let models = read(fixture).unwrap_or_else(|e| panic!("fixture {i}: {e}"));
            assert_eq!(models.len(), 1, "fixture {i}");
            let (name, array) = &models[0];
            assert_eq!(name, "CLIP_ViTL_14@336");
            assert_eq!(array.dtype, DType::F16, "fixture {i}");
            assert_eq!(array.shape, vec![1, 4], "fixture {i}");
            assert_eq!(
                array.to_f64_vec(),
                vec![1.5, -2.0, 3.0, 0.25],
                "fixture {i}"
            );
        }
    }

    #[test]
    fn reads_every_supported_dtype() {
        let floats = vec![0.5, -1.25, 2.0, 3.0, -0.0, 1024.0];
        let signed = vec![0.0, 1.0, -2.0, 3.0, -4.0, 5.0];
        let unsigned = vec![0.0, 1.0, 2.0, 3.0, 4.0, 255.0];
        let mut i64s = signed.clone();
        i64s[5] = (2f64).powi(40) + 1.0;
        let mut u64s = unsigned.clone();
        u64s[5] = (2f64).powi(50) + 3.0;
        let expected: Vec<(&str, DType, Vec<f64>)> = vec![
            ("f2", DType::F16, floats.clone()),
            ("f4", DType::F32, floats.clone()),
            ("f8", DType::F64, floats),
            ("i1", DType::I8, signed.clone()),
            ("i2", DType::I16, signed.clone()),
            ("i4", DType::I32, signed),
            ("i8", DType::I64, i64s),
            ("u1", DType::U8, unsigned.clone()),
            ("u2", DType::U16, unsigned.clone()),
            ("u4", DType::U32, unsigned),
            ("u8", DType::U64, u64s),
            ("b1", DType::Bool, vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0]),
        ];
        for (i, fixture) in DTYPE_FIXTURES.iter().enumerate() {
            let models = read(fixture).unwrap_or_else(|e| panic!("fixture {i}: {e}"));
            assert_eq!(models.len(), expected.len(), "fixture {i}");
            for ((name, array), (want_name, dtype, values)) in models.iter().zip(&expected) {
                assert_eq!(name, want_name, "fixture {i}");
                assert_eq!(array.dtype, *dtype, "fixture {i} {name}");
                assert_eq!(array.shape, vec![2, 3], "fixture {i} {name}");
                assert_eq!(&array.to_f64_vec(), values, "fixture {i} {name}");
            }
        }
    }

    #[test]
    fn normalises_big_endian_and_fortran_order() {
        let be_values = [1.0f32, 2.0, 3.0, 4.0, 5.0, -6.5];
        let le_bytes: Vec<u8> = be_values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let i16_bytes: Vec<u8> = (1i16..=6).flat_map(|v| v.to_le_bytes()).collect();
        for (i, fixture) in LAYOUT_FIXTURES.iter().enumerate() {
            let models = read(fixture).unwrap_or_else(|e| panic!("fixture {i}: {e}"));
            let names: Vec<&str> = models.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["be", "fortran", "be_fortran"], "fixture {i}");
            for (name, array) in &models {
                assert_eq!(array.shape, vec![2, 3], "fixture {i} {name}");
                if name == "fortran" {
                    assert_eq!(array.dtype, DType::I16, "fixture {i}");
                    assert_eq!(array.data, i16_bytes, "fixture {i}");
                } else {
                    assert_eq!(array.dtype, DType::F32, "fixture {i} {name}");
                    assert_eq!(array.data, le_bytes, "fixture {i} {name}");
                }
            }
        }
    }

    #[test]
    fn keeps_the_dict_order_of_several_models() {
        let models = read(NP2_P4_TWO_MODELS).unwrap();
        assert_eq!(models[0].0, "CLIP_ViTL_14@336");
        assert_eq!(models[0].1.dtype, DType::F16);
        assert_eq!(models[0].1.shape, vec![1, 8]);
        assert_eq!(
            models[0].1.to_f64_vec(),
            f16s(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
        );
        assert_eq!(models[1].0, "DINO_ViTB_8");
        assert_eq!(models[1].1.dtype, DType::F32);
        assert_eq!(models[1].1.shape, vec![1, 6]);
        assert_eq!(models[1].1.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(models.len(), 2);
    }

    #[test]
    fn reads_the_less_common_forms_numpy_writes() {
        let shared = read(NP2_P4_SHARED).unwrap();
        assert_eq!(shared.len(), 2);
        assert_eq!((shared[0].0.as_str(), shared[1].0.as_str()), ("a", "b"));
        assert_eq!(shared[0].1, shared[1].1);
        assert_eq!(shared[1].1.to_f64_vec(), vec![7.0, 8.0]);

        let empty = read(NP2_P2_EMPTY).unwrap();
        assert_eq!(empty[0].1.shape, vec![1, 0]);
        assert!(empty[0].1.data.is_empty());

        let strided = read(NP2_P5_STRIDED).unwrap();
        assert_eq!(strided[0].1.shape, vec![3]);
        assert_eq!(strided[0].1.to_f64_vec(), vec![0.0, 2.0, 4.0]);

        let readonly = read(NP2_P5_READONLY).unwrap();
        assert_eq!(readonly[0].1.dtype, DType::F64);
        assert_eq!(readonly[0].1.to_f64_vec(), vec![9.0, 10.0]);

        let zero_dim = read(NP2_P4_ZERO_DIM).unwrap();
        assert!(zero_dim[0].1.shape.is_empty());
        assert_eq!(zero_dim[0].1.to_f64_vec(), vec![2.5]);
    }

    #[test]
    fn reads_a_python_2_style_pickle_with_binstring_keys_and_data() {
        // What Python 2 numpy wrote: str (BINSTRING) for keys, type codes and raw data.
        let data: Vec<u8> = [1.5f32, -3.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let bytes = Pk::new(2)
            .op(op::EMPTY_DICT)
            .py2str(b"caf\xe9")
            .raw(b"cnumpy.core.multiarray\n_reconstruct\n")
            .raw(b"cnumpy\nndarray\n")
            .op(op::BININT1)
            .raw(&[0])
            .op(op::TUPLE1)
            .py2str(b"b")
            .op(op::TUPLE3)
            .op(op::REDUCE)
            .op(op::MARK)
            .op(op::BININT1)
            .raw(&[1])
            .tuple_of_ints(&[2])
            .raw(b"cnumpy\ndtype\n")
            .py2str(b"f4")
            .op(op::BININT1)
            .raw(&[0])
            .op(op::BININT1)
            .raw(&[1])
            .op(op::TUPLE3)
            .op(op::REDUCE)
            .op(op::MARK)
            .int(3)
            .py2str(b">")
            .op(op::NONE)
            .op(op::NONE)
            .op(op::NONE)
            .int(-1)
            .int(-1)
            .int(0)
            .op(op::TUPLE)
            .op(op::BUILD)
            .op(op::NEWFALSE)
            .op(op::BINSTRING)
            .raw(&8i32.to_le_bytes())
            .raw(&data)
            .op(op::TUPLE)
            .op(op::BUILD)
            .op(op::SETITEM)
            .stop();
        let models = read(&bytes).unwrap();
        assert_eq!(models[0].0, "caf\u{e9}");
        assert_eq!(models[0].1.dtype, DType::F32);
        assert_eq!(models[0].1.to_f64_vec(), vec![1.5, -3.0]);
    }

    #[test]
    fn a_repeated_key_replaces_the_value_in_place_as_python_does() {
        let bytes = Pk::new(4)
            .op(op::EMPTY_DICT)
            .op(op::MARK)
            .str("a")
            .f32_array(&[1.0])
            .str("b")
            .f32_array(&[2.0])
            .str("a")
            .f32_array(&[3.0])
            .op(op::SETITEMS)
            .stop();
        let models = read(&bytes).unwrap();
        let got: Vec<(&str, Vec<f64>)> = models
            .iter()
            .map(|(n, a)| (n.as_str(), a.to_f64_vec()))
            .collect();
        assert_eq!(got, vec![("a", vec![3.0]), ("b", vec![2.0])]);
    }

    #[test]
    fn refuses_os_system_and_names_it() {
        assert_eq!(
            unsafe_global(HOSTILE_P2_OS_SYSTEM),
            ("posix".into(), "system".into())
        );
        assert_eq!(
            unsafe_global(HOSTILE_P4_OS_SYSTEM),
            ("posix".into(), "system".into())
        );
        assert_eq!(
            read(HOSTILE_P4_OS_SYSTEM).unwrap_err().to_string(),
            "global 'posix system' is not allowed: a pickle.load of this file would run it"
        );
        let bytes = Pk::new(2)
            .raw(b"cos\nsystem\n")
            .str("true")
            .op(op::TUPLE1)
            .op(op::REDUCE)
            .stop();
        assert_eq!(
            read(&bytes).unwrap_err().to_string(),
            "global 'os system' is not allowed: a pickle.load of this file would run it"
        );
    }

    #[test]
    fn refuses_eval_popen_and_numpy_scalars() {
        assert_eq!(
            unsafe_global(HOSTILE_P4_EVAL),
            ("builtins".into(), "eval".into())
        );
        assert_eq!(
            read(HOSTILE_P4_EVAL).unwrap_err().to_string(),
            "global 'builtins eval' is not allowed: a pickle.load of this file would run it"
        );
        assert_eq!(
            unsafe_global(HOSTILE_P2_EVAL),
            ("__builtin__".into(), "eval".into())
        );
        assert_eq!(
            unsafe_global(HOSTILE_P5_POPEN),
            ("subprocess".into(), "Popen".into())
        );
        assert_eq!(
            unsafe_global(NP2_P4_SCALAR),
            ("numpy._core.multiarray".into(), "scalar".into())
        );
    }

    #[test]
    fn refuses_a_global_as_soon_as_it_is_named_even_if_never_called() {
        // Python's find_class imports the module at GLOBAL time, which can run code.
        let bytes = Pk::new(4)
            .global("os", "system")
            .op(op::POP)
            .op(op::EMPTY_DICT)
            .stop();
        assert_eq!(unsafe_global(&bytes), ("os".into(), "system".into()));
    }

    #[test]
    fn quotes_control_characters_in_a_refused_global() {
        let bytes = Pk::new(4)
            .global("os\nfake log line", "system\u{1b}[31m")
            .stop();
        let message = read(&bytes).unwrap_err().to_string();
        assert!(
            !message.contains('\n') && !message.contains('\u{1b}'),
            "{message}"
        );
        assert!(
            message.contains("os\\nfake log line system\\u{1b}[31m"),
            "{message}"
        );
    }

    #[test]
    fn refuses_out_of_band_buffers() {
        let (_, reason) = malformed(NP2_P5_OUT_OF_BAND);
        assert!(reason.contains("NEXT_BUFFER"), "{reason}");
        let bytes = Pk::new(5).op(op::READONLY_BUFFER).stop();
        assert!(malformed(&bytes).1.contains("READONLY_BUFFER"));
    }

    #[test]
    fn refuses_object_string_and_complex_dtypes_by_name() {
        let (_, reason) = malformed(NP2_P4_OBJECT);
        assert!(
            reason.contains("dtype 'O8' (object) is not supported"),
            "{reason}"
        );
        let (_, reason) = malformed(NP2_P4_UNICODE);
        assert!(reason.contains("dtype 'U2' (unicode string)"), "{reason}");
        let (_, reason) = malformed(NP2_P4_COMPLEX);
        assert!(reason.contains("dtype 'c8' (complex)"), "{reason}");
    }

    #[test]
    fn refuses_a_top_level_object_that_is_not_a_dict_of_arrays() {
        let (_, reason) = malformed(NP2_P4_TOP_LIST);
        assert_eq!(
            reason,
            "top-level object is a list, expected a dict of model name -> array"
        );
        let (_, reason) = malformed(NP2_P4_LIST_VALUE);
        assert_eq!(
            reason,
            "the value for 'l' is a list, expected a numpy array"
        );
        let bytes = Pk::new(4)
            .op(op::EMPTY_DICT)
            .str("m")
            .int(7)
            .op(op::SETITEM)
            .stop();
        assert_eq!(
            malformed(&bytes).1,
            "the value for 'm' is an int, expected a numpy array"
        );
        let bytes = Pk::new(4)
            .op(op::EMPTY_DICT)
            .int(1)
            .f32_array(&[1.0])
            .op(op::SETITEM)
            .stop();
        assert_eq!(
            malformed(&bytes).1,
            "a dict key is an int, expected a model name string"
        );
        let bytes = Pk::new(4).op(op::NONE).stop();
        assert_eq!(
            read(&bytes).unwrap_err().to_string(),
            "malformed pickle at byte 3: top-level object is None, expected a dict of model name -> array"
        );
        // _reconstruct without the BUILD that fills it.
        let bytes = feature_dict_with(|p| {
            p.global("numpy.core.multiarray", "_reconstruct")
                .global("numpy", "ndarray")
                .tuple_of_ints(&[0])
                .bytes(b"b")
                .op(op::TUPLE3)
                .op(op::REDUCE)
        });
        assert!(malformed(&bytes).1.contains("never received its data"));
    }

    #[test]
    fn refuses_what_is_not_a_pickle_of_protocol_2_to_5() {
        assert_eq!(malformed(b""), (0, "the file is empty".into()));
        // pickle.dumps({}, protocol=0) and protocol=1.
        assert!(malformed(b"(dp0\n.")
            .1
            .contains("not a pickle of protocol 2 to 5"));
        assert!(malformed(b"}q\x00.")
            .1
            .contains("starts with 0x7d, not PROTO"));
        assert!(malformed(b"\x80\x06}.")
            .1
            .contains("protocol 6 is not supported"));
        assert!(malformed(b"\x89PNG\r\n").1.contains("0x89"));
        let text_int = Pk::new(2).raw(b"I1\n").stop();
        assert!(malformed(&text_int).1.contains("INT"));
    }

    #[test]
    fn refuses_unknown_and_unsupported_opcodes_at_their_offset() {
        let bytes = Pk::new(4).op(op::EMPTY_DICT).op(0xff).stop();
        assert_eq!(malformed(&bytes), (3, "unknown opcode 0xff".into()));
        assert_eq!(
            read(&bytes).unwrap_err().to_string(),
            "malformed pickle at byte 3: unknown opcode 0xff"
        );
        let newobj = Pk::new(4)
            .global("numpy", "ndarray")
            .op(op::EMPTY_TUPLE)
            .op(0x81)
            .stop();
        assert!(malformed(&newobj).1.contains("NEWOBJ"));
    }

    /// The same pickle without its protocol 4 FRAME, which would otherwise report every
    /// truncation itself and keep the opcodes' own length checks from being exercised.
    fn unframed(fixture: &[u8]) -> Option<Vec<u8>> {
        (fixture.get(2) == Some(&op::FRAME)).then(|| [&fixture[..2], &fixture[11..]].concat())
    }

    #[test]
    fn every_truncation_of_a_valid_pickle_is_malformed() {
        let fixtures = valid_fixtures();
        let unframed: Vec<Vec<u8>> = fixtures.iter().filter_map(|f| unframed(f)).collect();
        assert!(unframed.len() > 10);
        for fixture in fixtures
            .into_iter()
            .chain(unframed.iter().map(Vec::as_slice))
        {
            assert!(read(fixture).is_ok());
            for len in 0..fixture.len() {
                match read(&fixture[..len]) {
                    Err(PickleError::Malformed { .. }) => {}
                    other => panic!("prefix of {len} bytes: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn huge_length_prefixes_fail_before_allocating() {
        let huge = (1u64 << 60).to_le_bytes();
        let bytes = Pk::new(4).op(op::BINBYTES8).raw(&huge).raw(b"abc").0;
        assert_eq!(
            malformed(&bytes),
            (
                2,
                "truncated: BINBYTES8 needs 1152921504606846976 bytes of operand, only 3 remain"
                    .into()
            )
        );
        for code in [op::BYTEARRAY8, op::BINUNICODE8, op::FRAME] {
            let bytes = Pk::new(5)
                .op(code)
                .raw(&u64::MAX.to_le_bytes())
                .raw(b"xyz")
                .0;
            assert!(
                malformed(&bytes).1.starts_with("truncated"),
                "opcode 0x{code:02x}"
            );
        }
        let bytes = Pk::new(4).op(op::BINUNICODE).raw(&u32::MAX.to_le_bytes()).0;
        assert!(malformed(&bytes).1.starts_with("truncated"));
        let bytes = Pk::new(2).op(op::BINSTRING).raw(&(-5i32).to_le_bytes()).0;
        assert!(malformed(&bytes).1.contains("negative length"));
    }

    #[test]
    fn deep_nesting_hits_the_stack_limit_without_recursing() {
        let limit = PickleLimits::default().max_stack_depth;
        let marks = Pk::new(4).raw(&vec![op::MARK; 1_000_000]).stop();
        assert_eq!(
            read(&marks),
            Err(PickleError::Limit {
                what: "stack items and open MARKs",
                limit
            })
        );
        let lists = Pk::new(4).raw(&vec![op::EMPTY_LIST; 1_000_000]).stop();
        assert!(matches!(read(&lists), Err(PickleError::Limit { .. })));
        let mixed = Pk::new(4).raw(&[op::MARK, op::NONE].repeat(6_000)).stop();
        assert!(matches!(read(&mixed), Err(PickleError::Limit { .. })));
        // Nested tuples take one stack slot however deep they go: no stack limit, but
        // nothing may recurse on them either (building, inspecting or dropping).
        let tuples = Pk::new(4)
            .op(op::NONE)
            .raw(&vec![op::TUPLE1; MAX_OBJECTS / 3])
            .stop();
        assert_eq!(
            malformed(&tuples).1,
            "top-level object is a tuple, expected a dict of model name -> array"
        );
        let limits = PickleLimits {
            max_stack_depth: 3,
            ..PickleLimits::default()
        };
        let bytes = Pk::new(4)
            .op(op::NONE)
            .op(op::NONE)
            .op(op::MARK)
            .op(op::NONE)
            .stop();
        assert_eq!(
            read_feature_dict(&bytes, &limits).unwrap_err().to_string(),
            "the pickle exceeds the limit of 3 stack items and open MARKs"
        );
    }

    #[test]
    fn objects_and_container_items_are_bounded() {
        let limit = Err(PickleError::Limit {
            what: "objects and container items",
            limit: MAX_OBJECTS,
        });
        // One byte per tuple, all of them alive: 2 GiB for 32 MiB of input were it unbounded.
        let tuples = Pk::new(4)
            .op(op::NONE)
            .raw(&vec![op::TUPLE1; MAX_OBJECTS + 1])
            .stop();
        assert_eq!(read(&tuples), limit);
        let garbage = Pk::new(4)
            .raw(&[op::EMPTY_LIST, op::POP].repeat(MAX_OBJECTS + 1))
            .stop();
        assert_eq!(read(&garbage), limit);
        let mut appends = Pk::new(4).op(op::EMPTY_LIST);
        for _ in 0..=MAX_OBJECTS / 5_000 {
            appends = appends.op(op::MARK).raw(&[op::NONE; 5_000]).op(op::APPENDS);
        }
        assert_eq!(read(&appends.stop()), limit);
    }

    #[test]
    fn memo_misuse_is_refused() {
        let bytes = Pk::new(4).op(op::BINGET).raw(&[5]).stop();
        assert_eq!(
            malformed(&bytes),
            (2, "memo slot 5 was read before it was written".into())
        );
        let bytes = Pk::new(4)
            .op(op::LONG_BINGET)
            .raw(&u32::MAX.to_le_bytes())
            .stop();
        assert!(malformed(&bytes).1.contains("memo slot 4294967295"));
        let bytes = Pk::new(4).op(op::MEMOIZE).stop();
        assert!(malformed(&bytes).1.contains("stack is empty"));
        let limits = PickleLimits {
            max_memo_entries: 3,
            ..PickleLimits::default()
        };
        let mut p = Pk::new(4).op(op::EMPTY_DICT);
        for i in 0u32..4 {
            p = p.op(op::LONG_BINPUT).raw(&(i * 1000).to_le_bytes());
        }
        assert_eq!(
            read_feature_dict(&p.stop(), &limits),
            Err(PickleError::Limit {
                what: "memo entries",
                limit: 3
            })
        );
        // Rewriting a slot is not a new entry.
        let mut p = Pk::new(4).op(op::EMPTY_DICT);
        for _ in 0..10 {
            p = p.op(op::BINPUT).raw(&[0]);
        }
        assert_eq!(read_feature_dict(&p.stop(), &limits), Ok(vec![]));
    }

    #[test]
    fn allowed_globals_with_wrong_arguments_are_malformed() {
        let dtype_one_arg = feature_dict_with(|p| {
            p.global("numpy", "dtype")
                .str("f4")
                .op(op::TUPLE1)
                .op(op::REDUCE)
        });
        assert_eq!(
            malformed(&dtype_one_arg).1,
            "numpy dtype called with (a str), expected (a type code such as 'f4', False, True)"
        );
        let reconstruct_wrong_class = feature_dict_with(|p| {
            p.global("numpy._core.multiarray", "_reconstruct")
                .global("numpy", "dtype")
                .tuple_of_ints(&[0])
                .bytes(b"b")
                .op(op::TUPLE3)
                .op(op::REDUCE)
        });
        assert!(malformed(&reconstruct_wrong_class)
            .1
            .starts_with("numpy _reconstruct called with"));
        let encode_utf8 = feature_dict_with(|p| {
            p.global("_codecs", "encode")
                .str("\u{20ac}")
                .str("utf8")
                .op(op::TUPLE2)
                .op(op::REDUCE)
        });
        assert!(malformed(&encode_utf8).1.contains("only latin1"));
        let encode_wide = feature_dict_with(|p| {
            p.global("_codecs", "encode")
                .str("\u{20ac}")
                .str("latin1")
                .op(op::TUPLE2)
                .op(op::REDUCE)
        });
        assert!(malformed(&encode_wide).1.contains("U+20AC is not latin-1"));
        let bytes_with_args = feature_dict_with(|p| {
            p.global("builtins", "bytes")
                .int(100)
                .op(op::TUPLE1)
                .op(op::REDUCE)
        });
        assert!(malformed(&bytes_with_args)
            .1
            .starts_with("bytes called with (an int)"));
        let ndarray_called = feature_dict_with(|p| {
            p.global("numpy", "ndarray")
                .op(op::EMPTY_TUPLE)
                .op(op::REDUCE)
        });
        assert!(malformed(&ndarray_called).1.contains("called directly"));
        let bad_order = feature_dict_with(|p| p.frombuffer(&[0; 4], "f4", &[1], "K"));
        assert!(malformed(&bad_order).1.contains("order 'K'"));
        let args_not_tuple =
            feature_dict_with(|p| p.global("numpy", "dtype").str("f4").op(op::REDUCE));
        assert!(malformed(&args_not_tuple).1.contains("a str as arguments"));
        let call_a_str =
            feature_dict_with(|p| p.str("os.system").op(op::EMPTY_TUPLE).op(op::REDUCE));
        assert_eq!(malformed(&call_a_str).1, "REDUCE calls a str");
        let build_a_dict =
            feature_dict_with(|p| p.op(op::EMPTY_DICT).op(op::EMPTY_TUPLE).op(op::BUILD));
        assert!(malformed(&build_a_dict).1.starts_with("BUILD on a dict"));
        let structured_state = feature_dict_with(|p| {
            p.global("numpy", "dtype")
                .str("f4")
                .op(op::NEWFALSE)
                .op(op::NEWTRUE)
                .op(op::TUPLE3)
                .op(op::REDUCE)
                .op(op::MARK)
                .int(3)
                .str("<")
                .op(op::NONE)
                .tuple_of_ints(&[1])
                .op(op::NONE)
                .int(-1)
                .int(-1)
                .int(0)
                .op(op::TUPLE)
                .op(op::BUILD)
        });
        assert!(malformed(&structured_state).1.contains("structured"));
    }

    #[test]
    fn shape_and_data_length_must_agree() {
        let short = feature_dict_with(|p| p.frombuffer(&[0; 6], "f2", &[1, 4], "C"));
        assert_eq!(
            malformed(&short).1,
            "array data: shape [1, 4] of float16 needs 8 bytes of data, the file holds 6"
        );
        let long = feature_dict_with(|p| p.frombuffer(&[0; 10], "f2", &[1, 4], "C"));
        assert!(malformed(&long).1.contains("the file holds 10"));
        let negative = feature_dict_with(|p| p.frombuffer(&[0; 4], "f4", &[-1], "C"));
        assert!(malformed(&negative)
            .1
            .starts_with("numpy _frombuffer called with"));
        let overflow = feature_dict_with(|p| {
            p.frombuffer(&[0; 4], "f8", &[i32::MAX, i32::MAX, i32::MAX, 8], "C")
        });
        assert!(malformed(&overflow).1.contains("overflows"));
    }

    #[test]
    fn array_bytes_are_bounded_and_sharing_cannot_amplify() {
        let limits = |max_array_bytes| PickleLimits {
            max_array_bytes,
            ..PickleLimits::default()
        };
        // Two keys name one 8-byte array: 16 bytes of output.
        assert!(read_feature_dict(NP2_P4_SHARED, &limits(16)).is_ok());
        assert_eq!(
            read_feature_dict(NP2_P4_SHARED, &limits(15)),
            Err(PickleError::Limit {
                what: "array bytes",
                limit: 15
            })
        );
        assert!(matches!(
            read_feature_dict(NP2_P4_F16, &limits(7)),
            Err(PickleError::Limit { .. })
        ));
        let tight = PickleLimits {
            max_input_bytes: 10,
            ..PickleLimits::default()
        };
        assert_eq!(
            read_feature_dict(NP2_P4_F16, &tight)
                .unwrap_err()
                .to_string(),
            "the pickle exceeds the limit of 10 input bytes"
        );
    }

    #[test]
    fn stack_discipline_is_enforced() {
        let trailing = Pk::new(4).op(op::EMPTY_DICT).op(op::STOP).raw(b"junk").0;
        assert_eq!(
            malformed(&trailing),
            (3, "4 bytes follow the STOP opcode".into())
        );
        let extra = Pk::new(4).op(op::NONE).op(op::EMPTY_DICT).stop();
        assert!(malformed(&extra).1.contains("leaves 1 value(s)"));
        let open_mark = Pk::new(4).op(op::MARK).op(op::EMPTY_DICT).stop();
        assert!(malformed(&open_mark).1.contains("unclosed MARK"));
        let below_mark = Pk::new(4)
            .op(op::EMPTY_DICT)
            .op(op::MARK)
            .op(op::TUPLE1)
            .stop();
        assert!(malformed(&below_mark).1.contains("TUPLE1 needs 1 value(s)"));
        let no_mark = Pk::new(4).op(op::TUPLE).stop();
        assert!(malformed(&no_mark).1.contains("TUPLE without a MARK"));
        let odd = Pk::new(4)
            .op(op::EMPTY_DICT)
            .op(op::MARK)
            .str("a")
            .op(op::SETITEMS)
            .stop();
        assert!(malformed(&odd).1.contains("odd number"));
        let unhashable = Pk::new(4)
            .op(op::EMPTY_DICT)
            .op(op::EMPTY_LIST)
            .op(op::NONE)
            .op(op::SETITEM)
            .stop();
        assert!(malformed(&unhashable).1.contains("unhashable"));
        let append_to_dict = Pk::new(4)
            .op(op::EMPTY_DICT)
            .op(op::NONE)
            .op(op::APPEND)
            .stop();
        assert!(malformed(&append_to_dict).1.contains("APPEND on a dict"));
        // POP with an empty frame drops the MARK, as CPython does; DUP and POP_MARK work.
        let pops = Pk::new(4)
            .op(op::EMPTY_DICT)
            .op(op::MARK)
            .op(op::POP)
            .op(op::MARK)
            .op(op::EMPTY_LIST)
            .op(op::DUP)
            .op(op::NONE)
            .op(op::APPEND)
            .op(op::POP_MARK)
            .stop();
        assert_eq!(read(&pops), Ok(vec![]));
    }

    #[test]
    fn integers_and_floats_decode() {
        // A shape given with LONG1 (as Python writes ints of 2**31 and more) and BININT2.
        let bytes = feature_dict_with(|p| {
            p.global("numpy._core.numeric", "_frombuffer")
                .op(op::MARK)
                .bytes(&[1, 2, 3])
                .dtype("u1", "|")
                .op(op::LONG1)
                .raw(&[1, 1])
                .op(op::BININT2)
                .raw(&[3, 0])
                .op(op::TUPLE2)
                .str("C")
                .op(op::TUPLE)
                .op(op::REDUCE)
        });
        let models = read(&bytes).unwrap();
        assert_eq!(models[0].1.shape, vec![1, 3]);
        assert_eq!(models[0].1.data, vec![1, 2, 3]);
        let negative_long =
            feature_dict_with(|p| p.op(op::LONG1).raw(&[2, 0x00, 0x80]).op(op::TUPLE1));
        assert!(malformed(&negative_long).1.contains("is a tuple"));
        let big_long = Pk::new(4).op(op::LONG1).raw(&[9]).raw(&[0; 9]).stop();
        assert!(malformed(&big_long).1.contains("does not fit in 64 bits"));
        let float = Pk::new(4)
            .op(op::BINFLOAT)
            .raw(&1.5f64.to_be_bytes())
            .stop();
        assert!(malformed(&float).1.contains("is a float"));
        let bad_utf8 = Pk::new(4)
            .op(op::SHORT_BINUNICODE)
            .raw(&[2, 0xff, 0xfe])
            .stop();
        assert!(malformed(&bad_utf8).1.contains("not valid UTF-8"));
    }

    /// xorshift64*, enough to scatter mutations reproducibly.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_mutations_never_panic() {
        let mut fixtures = valid_fixtures();
        fixtures.extend(HOSTILE_FIXTURES);
        let small = PickleLimits {
            max_input_bytes: 1 << 16,
            max_memo_entries: 64,
            max_stack_depth: 64,
            max_array_bytes: 1 << 12,
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let interesting = [
            0x00, 0xff, 0x7f, 0x80, b'(', b'.', b'R', b'b', b'h', 0x94, 0x95, 0x8e,
        ];
        for _ in 0..5_000 {
            let mut bytes = fixtures[rng.below(fixtures.len())].to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = if rng.below(2) == 0 {
                    interesting[rng.below(interesting.len())]
                } else {
                    rng.next() as u8
                };
            }
            if rng.below(8) == 0 {
                let at = rng.below(bytes.len());
                let from = rng.below(bytes.len());
                let chunk: Vec<u8> = bytes[from..].iter().take(16).copied().collect();
                bytes.splice(at..at, chunk);
            }
            let limits = if rng.below(2) == 0 {
                small
            } else {
                PickleLimits::default()
            };
            let _ = read_feature_dict(&bytes, &limits);
        }
    }

    // Real pickles: `pickle.dumps` under numpy 1.26.4 and 2.4.6 on Python 3.11, written out
    // as byte strings by a script; each constant's note gives the call that made it. The
    // hostile ones were never loaded.
    /// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=2)
    const NP1_P2_F16: &[u8] =
        b"\x80\x02}q\x00X\x10\x00\x00\x00CLIP_ViTL_14@336q\x01cnumpy.core.multiarray\x0a_reconstru\
    ct\x0aq\x02cnumpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\
    \x00\x00bq\x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x01K\x04\
    \x86q\x0ccnumpy\x0adtype\x0aq\x0dX\x02\x00\x00\x00f2q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\
    \x01\x00\x00\x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x09\
    \x00\x00\x00\x00>\x00\xc3\x80\x00B\x004q\x13h\x07\x86q\x14Rq\x15tq\x16bs.";

    /// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=3)
    const NP1_P3_F16: &[u8] =
        b"\x80\x03}q\x00X\x10\x00\x00\x00CLIP_ViTL_14@336q\x01cnumpy.core.multiarray\x0a_reconstru\
    ct\x0aq\x02cnumpy\x0andarray\x0aq\x03K\x00\x85q\x04C\x01bq\x05\x87q\x06Rq\x07(K\x01K\x01\
    K\x04\x86q\x08cnumpy\x0adtype\x0aq\x09X\x02\x00\x00\x00f2q\x0a\x89\x88\x87q\x0bRq\x0c(K\
    \x03X\x01\x00\x00\x00<q\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0eb\x89C\x08\
    \x00>\x00\xc0\x00B\x004q\x0ftq\x10bs.";

    /// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=4)
    const NP1_P4_F16: &[u8] =
        b"\x80\x04\x95\xa8\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x10CLIP_ViTL_14@336\x94\x8c\x15num\
    py.core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\
    \x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01K\x04\x86\x94h\x05\x8c\x05dty\
    pe\x94\x93\x94\x8c\x02f2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xff\
    J\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00>\x00\xc0\x00B\x004\x94t\x94bs.";

    /// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=5)
    const NP1_P5_F16: &[u8] =
        b"\x80\x05\x95\x93\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x10CLIP_ViTL_14@336\x94\x8c\x12num\
    py.core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x08\x00\x00\x00\x00\x00\x00\x00\
    \x00>\x00\xc0\x00B\x004\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f2\x94\x89\
    \x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\
    \x01K\x04\x86\x94\x8c\x01C\x94t\x94R\x94s.";

    /// numpy 1.26.4: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=3
    const NP1_P3_DTYPES: &[u8] =
        b"\x80\x03}q\x00(X\x02\x00\x00\x00f2q\x01cnumpy.core.multiarray\x0a_reconstruct\x0aq\x02cn\
    umpy\x0andarray\x0aq\x03K\x00\x85q\x04C\x01bq\x05\x87q\x06Rq\x07(K\x01K\x02K\x03\x86q\
    \x08cnumpy\x0adtype\x0aq\x09X\x02\x00\x00\x00f2q\x0a\x89\x88\x87q\x0bRq\x0c(K\x03X\x01\
    \x00\x00\x00<q\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0eb\x89C\x0c\x008\x00\
    \xbd\x00@\x00B\x00\x80\x00dq\x0ftq\x10bX\x02\x00\x00\x00f4q\x11h\x02h\x03K\x00\x85q\x12h\
    \x05\x87q\x13Rq\x14(K\x01K\x02K\x03\x86q\x15h\x09X\x02\x00\x00\x00f4q\x16\x89\x88\x87q\
    \x17Rq\x18(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x19b\x89C\x18\x00\x00\
    \x00?\x00\x00\xa0\xbf\x00\x00\x00@\x00\x00@@\x00\x00\x00\x80\x00\x00\x80Dq\x1atq\x1bbX\
    \x02\x00\x00\x00f8q\x1ch\x02h\x03K\x00\x85q\x1dh\x05\x87q\x1eRq\x1f(K\x01K\x02K\x03\x86q\
    \x20h\x09X\x02\x00\x00\x00f8q!\x89\x88\x87q\"Rq#(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\
    \xff\xffK\x00tq$b\x89C0\x00\x00\x00\x00\x00\x00\xe0?\x00\x00\x00\x00\x00\x00\xf4\xbf\x00\
    \x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\x00\x80\
    \x00\x00\x00\x00\x00\x00\x90@q%tq&bX\x02\x00\x00\x00i1q'h\x02h\x03K\x00\x85q(h\x05\x87q)\
    Rq*(K\x01K\x02K\x03\x86q+h\x09X\x02\x00\x00\x00i1q,\x89\x88\x87q-Rq.(K\x03X\x01\x00\x00\
    \x00|q/NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq0b\x89C\x06\x00\x01\xfe\x03\xfc\x05q1\
    tq2bX\x02\x00\x00\x00i2q3h\x02h\x03K\x00\x85q4h\x05\x87q5Rq6(K\x01K\x02K\x03\x86q7h\x09X\
    \x02\x00\x00\x00i2q8\x89\x88\x87q9Rq:(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00tq;b\x89C\x0c\x00\x00\x01\x00\xfe\xff\x03\x00\xfc\xff\x05\x00q<tq=bX\x02\x00\x00\x00\
    i4q>h\x02h\x03K\x00\x85q?h\x05\x87q@RqA(K\x01K\x02K\x03\x86qBh\x09X\x02\x00\x00\x00i4qC\
    \x89\x88\x87qDRqE(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tqFb\x89C\x18\x00\
    \x00\x00\x00\x01\x00\x00\x00\xfe\xff\xff\xff\x03\x00\x00\x00\xfc\xff\xff\xff\x05\x00\x00\
    \x00qGtqHbX\x02\x00\x00\x00i8qIh\x02h\x03K\x00\x85qJh\x05\x87qKRqL(K\x01K\x02K\x03\x86qM\
    h\x09X\x02\x00\x00\x00i8qN\x89\x88\x87qORqP(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\
    \xffK\x00tqQb\x89C0\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xfe\
    \xff\xff\xff\xff\xff\xff\xff\x03\x00\x00\x00\x00\x00\x00\x00\xfc\xff\xff\xff\xff\xff\xff\
    \xff\x01\x00\x00\x00\x00\x01\x00\x00qRtqSbX\x02\x00\x00\x00u1qTh\x02h\x03K\x00\x85qUh\
    \x05\x87qVRqW(K\x01K\x02K\x03\x86qXh\x09X\x02\x00\x00\x00u1qY\x89\x88\x87qZRq[(K\x03h/NN\
    NJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\\b\x89C\x06\x00\x01\x02\x03\x04\xffq]tq^bX\
    \x02\x00\x00\x00u2q_h\x02h\x03K\x00\x85q`h\x05\x87qaRqb(K\x01K\x02K\x03\x86qch\x09X\x02\
    \x00\x00\x00u2qd\x89\x88\x87qeRqf(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\
    gb\x89C\x0c\x00\x00\x01\x00\x02\x00\x03\x00\x04\x00\xff\x00qhtqibX\x02\x00\x00\x00u4qjh\
    \x02h\x03K\x00\x85qkh\x05\x87qlRqm(K\x01K\x02K\x03\x86qnh\x09X\x02\x00\x00\x00u4qo\x89\
    \x88\x87qpRqq(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tqrb\x89C\x18\x00\x00\
    \x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\x00\x00\x00\
    qstqtbX\x02\x00\x00\x00u8quh\x02h\x03K\x00\x85qvh\x05\x87qwRqx(K\x01K\x02K\x03\x86qyh\
    \x09X\x02\x00\x00\x00u8qz\x89\x88\x87q{Rq|(K\x03h\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\
    \xffK\x00tq}b\x89C0\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\
    \x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\
    \x00\x03\x00\x00\x00\x00\x00\x04\x00q~tq\x7fbX\x02\x00\x00\x00b1q\x80h\x02h\x03K\x00\x85\
    q\x81h\x05\x87q\x82Rq\x83(K\x01K\x02K\x03\x86q\x84h\x09X\x02\x00\x00\x00b1q\x85\x89\x88\
    \x87q\x86Rq\x87(K\x03h/NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x88b\x89C\x06\x01\
    \x00\x01\x00\x00\x01q\x89tq\x8abu.";

    /// numpy 1.26.4: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=4
    const NP1_P4_DTYPES: &[u8] =
        b"\x80\x04\x95\xb0\x04\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02f2\x94\x8c\x15numpy.core.multi\
    array\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x05\x8c\x05dtype\x94\x93\
    \x94\x8c\x02f2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\
    \xff\xffK\x00t\x94b\x89C\x0c\x008\x00\xbd\x00@\x00B\x00\x80\x00d\x94t\x94b\x8c\x02f4\x94\
    h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x0e\x8c\x02f4\x94\x89\
    \x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x18\
    \x00\x00\x00?\x00\x00\xa0\xbf\x00\x00\x00@\x00\x00@@\x00\x00\x00\x80\x00\x00\x80D\x94t\
    \x94b\x8c\x02f8\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\
    \x0e\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00t\x94b\x89C0\x00\x00\x00\x00\x00\x00\xe0?\x00\x00\x00\x00\x00\x00\xf4\xbf\x00\x00\
    \x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\x00\x80\x00\
    \x00\x00\x00\x00\x00\x90@\x94t\x94b\x8c\x02i1\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\
    \x94(K\x01K\x02K\x03\x86\x94h\x0e\x8c\x02i1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94N\
    NNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x06\x00\x01\xfe\x03\xfc\x05\x94t\
    \x94b\x8c\x02i2\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\
    \x0e\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00t\x94b\x89C\x0c\x00\x00\x01\x00\xfe\xff\x03\x00\xfc\xff\x05\x00\x94t\x94b\x8c\x02i4\
    \x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x0e\x8c\x02i4\x94\
    \x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\
    \x18\x00\x00\x00\x00\x01\x00\x00\x00\xfe\xff\xff\xff\x03\x00\x00\x00\xfc\xff\xff\xff\x05\
    \x00\x00\x00\x94t\x94b\x8c\x02i8\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02\
    K\x03\x86\x94h\x0e\x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\
    \xff\xff\xff\xffK\x00t\x94b\x89C0\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\
    \x00\x00\x00\xfe\xff\xff\xff\xff\xff\xff\xff\x03\x00\x00\x00\x00\x00\x00\x00\xfc\xff\xff\
    \xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x01\x00\x00\x94t\x94b\x8c\x02u1\x94h\x04h\x07K\
    \x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x0e\x8c\x02u1\x94\x89\x88\x87\
    \x94R\x94(K\x03h4NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x06\x00\x01\x02\
    \x03\x04\xff\x94t\x94b\x8c\x02u2\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02\
    K\x03\x86\x94h\x0e\x8c\x02u2\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\
    \xff\xff\xff\xffK\x00t\x94b\x89C\x0c\x00\x00\x01\x00\x02\x00\x03\x00\x04\x00\xff\x00\x94\
    t\x94b\x8c\x02u4\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\
    \x0e\x8c\x02u4\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00t\x94b\x89C\x18\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\
    \x00\x00\x00\xff\x00\x00\x00\x94t\x94b\x8c\x02u8\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94\
    R\x94(K\x01K\x02K\x03\x86\x94h\x0e\x8c\x02u8\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\
    \xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C0\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\
    \x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\
    \x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x04\x00\x94t\x94b\x8c\x02b1\x94\
    h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x0e\x8c\x02b1\x94\x89\
    \x88\x87\x94R\x94(K\x03h4NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x06\x01\
    \x00\x01\x00\x00\x01\x94t\x94bu.";

    /// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=2
    const NP1_P2_LAYOUTS: &[u8] =
        b"\x80\x02}q\x00(X\x02\x00\x00\x00beq\x01cnumpy.core.multiarray\x0a_reconstruct\x0aq\x02cn\
    umpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\x00\x00bq\x06\
    X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x02K\x03\x86q\x0ccnump\
    y\x0adtype\x0aq\x0dX\x02\x00\x00\x00f4q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\x00\
    \x00>q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x1d\x00\x00\x00?\
    \xc2\x80\x00\x00@\x00\x00\x00@@\x00\x00@\xc2\x80\x00\x00@\xc2\xa0\x00\x00\xc3\x80\xc3\
    \x90\x00\x00q\x13h\x07\x86q\x14Rq\x15tq\x16bX\x07\x00\x00\x00fortranq\x17h\x02h\x03K\x00\
    \x85q\x18h\x09\x87q\x19Rq\x1a(K\x01K\x02K\x03\x86q\x1bh\x0dX\x02\x00\x00\x00i2q\x1c\x89\
    \x88\x87q\x1dRq\x1e(K\x03X\x01\x00\x00\x00<q\x1fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00tq\x20b\x88h\x05X\x0c\x00\x00\x00\x01\x00\x04\x00\x02\x00\x05\x00\x03\x00\x06\x00q!h\
    \x07\x86q\"Rq#tq$bX\x0a\x00\x00\x00be_fortranq%h\x02h\x03K\x00\x85q&h\x09\x87q'Rq((K\x01\
    K\x02K\x03\x86q)h\x10\x88h\x05X\x1d\x00\x00\x00?\xc2\x80\x00\x00@\xc2\x80\x00\x00@\x00\
    \x00\x00@\xc2\xa0\x00\x00@@\x00\x00\xc3\x80\xc3\x90\x00\x00q*h\x07\x86q+Rq,tq-bu.";

    /// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=3
    const NP1_P3_LAYOUTS: &[u8] =
        b"\x80\x03}q\x00(X\x02\x00\x00\x00beq\x01cnumpy.core.multiarray\x0a_reconstruct\x0aq\x02cn\
    umpy\x0andarray\x0aq\x03K\x00\x85q\x04C\x01bq\x05\x87q\x06Rq\x07(K\x01K\x02K\x03\x86q\
    \x08cnumpy\x0adtype\x0aq\x09X\x02\x00\x00\x00f4q\x0a\x89\x88\x87q\x0bRq\x0c(K\x03X\x01\
    \x00\x00\x00>q\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0eb\x89C\x18?\x80\x00\
    \x00@\x00\x00\x00@@\x00\x00@\x80\x00\x00@\xa0\x00\x00\xc0\xd0\x00\x00q\x0ftq\x10bX\x07\
    \x00\x00\x00fortranq\x11h\x02h\x03K\x00\x85q\x12h\x05\x87q\x13Rq\x14(K\x01K\x02K\x03\x86\
    q\x15h\x09X\x02\x00\x00\x00i2q\x16\x89\x88\x87q\x17Rq\x18(K\x03X\x01\x00\x00\x00<q\x19NN\
    NJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x1ab\x88C\x0c\x01\x00\x04\x00\x02\x00\x05\x00\
    \x03\x00\x06\x00q\x1btq\x1cbX\x0a\x00\x00\x00be_fortranq\x1dh\x02h\x03K\x00\x85q\x1eh\
    \x05\x87q\x1fRq\x20(K\x01K\x02K\x03\x86q!h\x0c\x88C\x18?\x80\x00\x00@\x80\x00\x00@\x00\
    \x00\x00@\xa0\x00\x00@@\x00\x00\xc0\xd0\x00\x00q\"tq#bu.";

    /// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=4
    const NP1_P4_LAYOUTS: &[u8] =
        b"\x80\x04\x95J\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02be\x94\x8c\x15numpy.core.multiarr\
    ay\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\
    \x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x05\x8c\x05dtype\x94\x93\x94\
    \x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\
    \xffK\x00t\x94b\x89C\x18?\x80\x00\x00@\x00\x00\x00@@\x00\x00@\x80\x00\x00@\xa0\x00\x00\
    \xc0\xd0\x00\x00\x94t\x94b\x8c\x07fortran\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\
    \x01K\x02K\x03\x86\x94h\x0e\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x88C\x0c\x01\x00\x04\x00\x02\x00\x05\x00\
    \x03\x00\x06\x00\x94t\x94b\x8c\x0abe_fortran\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\
    \x94(K\x01K\x02K\x03\x86\x94h\x11\x88C\x18?\x80\x00\x00@\x80\x00\x00@\x00\x00\x00@\xa0\
    \x00\x00@@\x00\x00\xc0\xd0\x00\x00\x94t\x94bu.";

    /// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=5
    const NP1_P5_LAYOUTS: &[u8] =
        b"\x80\x05\x95-\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02be\x94\x8c\x12numpy.core.numeric\
    \x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x18\x00\x00\x00\x00\x00\x00\x00?\x80\x00\x00@\
    \x00\x00\x00@@\x00\x00@\x80\x00\x00@\xa0\x00\x00\xc0\xd0\x00\x00\x94\x8c\x05numpy\x94\
    \x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\
    \xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94\x8c\x01C\x94t\x94R\x94\x8c\
    \x07fortran\x94h\x04(\x96\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x00\x04\x00\x02\x00\x05\
    \x00\x03\x00\x06\x00\x94h\x08\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94\x8c\x01F\x94t\x94R\x94\
    \x8c\x0abe_fortran\x94h\x04(\x96\x18\x00\x00\x00\x00\x00\x00\x00?\x80\x00\x00@\x80\x00\
    \x00@\x00\x00\x00@\xa0\x00\x00@@\x00\x00\xc0\xd0\x00\x00\x94h\x0bK\x02K\x03\x86\x94h\x1a\
    t\x94R\x94u.";

    /// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=2)
    const NP2_P2_F16: &[u8] =
        b"\x80\x02}q\x00X\x10\x00\x00\x00CLIP_ViTL_14@336q\x01cnumpy._core.multiarray\x0a_reconstr\
    uct\x0aq\x02cnumpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\
    \x00\x00bq\x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x01K\x04\
    \x86q\x0ccnumpy\x0adtype\x0aq\x0dX\x02\x00\x00\x00f2q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\
    \x01\x00\x00\x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x09\
    \x00\x00\x00\x00>\x00\xc3\x80\x00B\x004q\x13h\x07\x86q\x14Rq\x15tq\x16bs.";

    /// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=3)
    const NP2_P3_F16: &[u8] =
        b"\x80\x03}q\x00X\x10\x00\x00\x00CLIP_ViTL_14@336q\x01cnumpy._core.multiarray\x0a_reconstr\
    uct\x0aq\x02cnumpy\x0andarray\x0aq\x03K\x00\x85q\x04C\x01bq\x05\x87q\x06Rq\x07(K\x01K\
    \x01K\x04\x86q\x08cnumpy\x0adtype\x0aq\x09X\x02\x00\x00\x00f2q\x0a\x89\x88\x87q\x0bRq\
    \x0c(K\x03X\x01\x00\x00\x00<q\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0eb\x89C\
    \x08\x00>\x00\xc0\x00B\x004q\x0ftq\x10bs.";

    /// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=4)
    const NP2_P4_F16: &[u8] =
        b"\x80\x04\x95\xa9\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x10CLIP_ViTL_14@336\x94\x8c\x16num\
    py._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\
    \x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01K\x04\x86\x94h\x05\x8c\x05dty\
    pe\x94\x93\x94\x8c\x02f2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xff\
    J\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00>\x00\xc0\x00B\x004\x94t\x94bs.";

    /// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=5)
    const NP2_P5_F16: &[u8] =
        b"\x80\x05\x95\x94\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x10CLIP_ViTL_14@336\x94\x8c\x13num\
    py._core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x08\x00\x00\x00\x00\x00\x00\x00\
    \x00>\x00\xc0\x00B\x004\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f2\x94\x89\
    \x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\
    \x01K\x04\x86\x94\x8c\x01C\x94t\x94R\x94s.";

    /// numpy 2.4.6: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=2
    const NP2_P2_DTYPES: &[u8] =
        b"\x80\x02}q\x00(X\x02\x00\x00\x00f2q\x01cnumpy._core.multiarray\x0a_reconstruct\x0aq\x02c\
    numpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\x00\x00bq\
    \x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x02K\x03\x86q\x0cc\
    numpy\x0adtype\x0aq\x0dX\x02\x00\x00\x00f2q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\
    \x00\x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x0e\x00\x00\
    \x00\x008\x00\xc2\xbd\x00@\x00B\x00\xc2\x80\x00dq\x13h\x07\x86q\x14Rq\x15tq\x16bX\x02\
    \x00\x00\x00f4q\x17h\x02h\x03K\x00\x85q\x18h\x09\x87q\x19Rq\x1a(K\x01K\x02K\x03\x86q\x1b\
    h\x0dX\x02\x00\x00\x00f4q\x1c\x89\x88\x87q\x1dRq\x1e(K\x03h\x11NNNJ\xff\xff\xff\xffJ\xff\
    \xff\xff\xffK\x00tq\x1fb\x89h\x05X\x1c\x00\x00\x00\x00\x00\x00?\x00\x00\xc2\xa0\xc2\xbf\
    \x00\x00\x00@\x00\x00@@\x00\x00\x00\xc2\x80\x00\x00\xc2\x80Dq\x20h\x07\x86q!Rq\"tq#bX\
    \x02\x00\x00\x00f8q$h\x02h\x03K\x00\x85q%h\x09\x87q&Rq'(K\x01K\x02K\x03\x86q(h\x0dX\x02\
    \x00\x00\x00f8q)\x89\x88\x87q*Rq+(K\x03h\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\
    ,b\x89h\x05X5\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3\xa0?\x00\x00\x00\x00\x00\x00\xc3\
    \xb4\xc2\xbf\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\
    \x00\x00\x00\xc2\x80\x00\x00\x00\x00\x00\x00\xc2\x90@q-h\x07\x86q.Rq/tq0bX\x02\x00\x00\
    \x00i1q1h\x02h\x03K\x00\x85q2h\x09\x87q3Rq4(K\x01K\x02K\x03\x86q5h\x0dX\x02\x00\x00\x00i\
    1q6\x89\x88\x87q7Rq8(K\x03X\x01\x00\x00\x00|q9NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00\
    tq:b\x89h\x05X\x08\x00\x00\x00\x00\x01\xc3\xbe\x03\xc3\xbc\x05q;h\x07\x86q<Rq=tq>bX\x02\
    \x00\x00\x00i2q?h\x02h\x03K\x00\x85q@h\x09\x87qARqB(K\x01K\x02K\x03\x86qCh\x0dX\x02\x00\
    \x00\x00i2qD\x89\x88\x87qERqF(K\x03h\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tqGb\
    \x89h\x05X\x10\x00\x00\x00\x00\x00\x01\x00\xc3\xbe\xc3\xbf\x03\x00\xc3\xbc\xc3\xbf\x05\
    \x00qHh\x07\x86qIRqJtqKbX\x02\x00\x00\x00i4qLh\x02h\x03K\x00\x85qMh\x09\x87qNRqO(K\x01K\
    \x02K\x03\x86qPh\x0dX\x02\x00\x00\x00i4qQ\x89\x88\x87qRRqS(K\x03h\x11NNNJ\xff\xff\xff\
    \xffJ\xff\xff\xff\xffK\x00tqTb\x89h\x05X\x20\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\
    \xc3\xbe\xc3\xbf\xc3\xbf\xc3\xbf\x03\x00\x00\x00\xc3\xbc\xc3\xbf\xc3\xbf\xc3\xbf\x05\x00\
    \x00\x00qUh\x07\x86qVRqWtqXbX\x02\x00\x00\x00i8qYh\x02h\x03K\x00\x85qZh\x09\x87q[Rq\\(K\
    \x01K\x02K\x03\x86q]h\x0dX\x02\x00\x00\x00i8q^\x89\x88\x87q_Rq`(K\x03h\x11NNNJ\xff\xff\
    \xff\xffJ\xff\xff\xff\xffK\x00tqab\x89h\x05X@\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
    \x00\x01\x00\x00\x00\x00\x00\x00\x00\xc3\xbe\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\
    \xbf\xc3\xbf\x03\x00\x00\x00\x00\x00\x00\x00\xc3\xbc\xc3\xbf\xc3\xbf\xc3\xbf\xc3\xbf\xc3\
    \xbf\xc3\xbf\xc3\xbf\x01\x00\x00\x00\x00\x01\x00\x00qbh\x07\x86qcRqdtqebX\x02\x00\x00\
    \x00u1qfh\x02h\x03K\x00\x85qgh\x09\x87qhRqi(K\x01K\x02K\x03\x86qjh\x0dX\x02\x00\x00\x00u\
    1qk\x89\x88\x87qlRqm(K\x03h9NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tqnb\x89h\x05X\x07\
    \x00\x00\x00\x00\x01\x02\x03\x04\xc3\xbfqoh\x07\x86qpRqqtqrbX\x02\x00\x00\x00u2qsh\x02h\
    \x03K\x00\x85qth\x09\x87quRqv(K\x01K\x02K\x03\x86qwh\x0dX\x02\x00\x00\x00u2qx\x89\x88\
    \x87qyRqz(K\x03h\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq{b\x89h\x05X\x0d\x00\x00\
    \x00\x00\x00\x01\x00\x02\x00\x03\x00\x04\x00\xc3\xbf\x00q|h\x07\x86q}Rq~tq\x7fbX\x02\x00\
    \x00\x00u4q\x80h\x02h\x03K\x00\x85q\x81h\x09\x87q\x82Rq\x83(K\x01K\x02K\x03\x86q\x84h\
    \x0dX\x02\x00\x00\x00u4q\x85\x89\x88\x87q\x86Rq\x87(K\x03h\x11NNNJ\xff\xff\xff\xffJ\xff\
    \xff\xff\xffK\x00tq\x88b\x89h\x05X\x19\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\
    \x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\xc3\xbf\x00\x00\x00q\x89h\x07\x86q\x8aRq\
    \x8btq\x8cbX\x02\x00\x00\x00u8q\x8dh\x02h\x03K\x00\x85q\x8eh\x09\x87q\x8fRq\x90(K\x01K\
    \x02K\x03\x86q\x91h\x0dX\x02\x00\x00\x00u8q\x92\x89\x88\x87q\x93Rq\x94(K\x03h\x11NNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x95b\x89h\x05X0\x00\x00\x00\x00\x00\x00\x00\x00\
    \x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\
    \x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x04\x00q\
    \x96h\x07\x86q\x97Rq\x98tq\x99bX\x02\x00\x00\x00b1q\x9ah\x02h\x03K\x00\x85q\x9bh\x09\x87\
    q\x9cRq\x9d(K\x01K\x02K\x03\x86q\x9eh\x0dX\x02\x00\x00\x00b1q\x9f\x89\x88\x87q\xa0Rq\xa1\
    (K\x03h9NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\xa2b\x89h\x05X\x06\x00\x00\x00\x01\
    \x00\x01\x00\x00\x01q\xa3h\x07\x86q\xa4Rq\xa5tq\xa6bu.";

    /// numpy 2.4.6: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=5
    const NP2_P5_DTYPES: &[u8] =
        b"\x80\x05\x95e\x04\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02f2\x94\x8c\x13numpy._core.numeric\
    \x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x0c\x00\x00\x00\x00\x00\x00\x00\x008\x00\xbd\
    \x00@\x00B\x00\x80\x00d\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f2\x94\x89\
    \x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\
    \x02K\x03\x86\x94\x8c\x01C\x94t\x94R\x94\x8c\x02f4\x94h\x04(\x96\x18\x00\x00\x00\x00\x00\
    \x00\x00\x00\x00\x00?\x00\x00\xa0\xbf\x00\x00\x00@\x00\x00@@\x00\x00\x00\x80\x00\x00\x80\
    D\x94h\x08\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\
    \xff\xffK\x00t\x94bK\x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02f8\x94h\x04(\x960\x00\x00\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe0?\x00\x00\x00\x00\x00\x00\xf4\xbf\x00\
    \x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\x00\x80\
    \x00\x00\x00\x00\x00\x00\x90@\x94h\x08\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02i1\
    \x94h\x04(\x96\x06\x00\x00\x00\x00\x00\x00\x00\x00\x01\xfe\x03\xfc\x05\x94h\x08\x8c\x02i\
    1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\
    \x94bK\x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02i2\x94h\x04(\x96\x0c\x00\x00\x00\x00\x00\
    \x00\x00\x00\x00\x01\x00\xfe\xff\x03\x00\xfc\xff\x05\x00\x94h\x08\x8c\x02i2\x94\x89\x88\
    \x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\
    \x94h\x0ft\x94R\x94\x8c\x02i4\x94h\x04(\x96\x18\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
    \x00\x01\x00\x00\x00\xfe\xff\xff\xff\x03\x00\x00\x00\xfc\xff\xff\xff\x05\x00\x00\x00\x94\
    h\x08\x8c\x02i4\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff\
    K\x00t\x94bK\x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02i8\x94h\x04(\x960\x00\x00\x00\x00\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xfe\xff\xff\
    \xff\xff\xff\xff\xff\x03\x00\x00\x00\x00\x00\x00\x00\xfc\xff\xff\xff\xff\xff\xff\xff\x01\
    \x00\x00\x00\x00\x01\x00\x00\x94h\x08\x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02u1\
    \x94h\x04(\x96\x06\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\xff\x94h\x08\x8c\x02u\
    1\x94\x89\x88\x87\x94R\x94(K\x03h)NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\
    \x03\x86\x94h\x0ft\x94R\x94\x8c\x02u2\x94h\x04(\x96\x0c\x00\x00\x00\x00\x00\x00\x00\x00\
    \x00\x01\x00\x02\x00\x03\x00\x04\x00\xff\x00\x94h\x08\x8c\x02u2\x94\x89\x88\x87\x94R\x94\
    (K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94h\x0ft\x94R\
    \x94\x8c\x02u4\x94h\x04(\x96\x18\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\
    \x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\x00\x00\x00\x94h\x08\x8c\x02u4\
    \x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\
    \x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02u8\x94h\x04(\x960\x00\x00\x00\x00\x00\x00\x00\
    \x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\
    \x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\
    \x00\x00\x04\x00\x94h\x08\x8c\x02u8\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\
    \xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94h\x0ft\x94R\x94\x8c\x02b1\x94h\x04(\
    \x96\x06\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00\x01\x94h\x08\x8c\x02b1\x94\x89\
    \x88\x87\x94R\x94(K\x03h)NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\
    \x94h\x0ft\x94R\x94u.";

    /// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=2
    const NP2_P2_LAYOUTS: &[u8] =
        b"\x80\x02}q\x00(X\x02\x00\x00\x00beq\x01cnumpy._core.multiarray\x0a_reconstruct\x0aq\x02c\
    numpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\x00\x00bq\
    \x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x02K\x03\x86q\x0cc\
    numpy\x0adtype\x0aq\x0dX\x02\x00\x00\x00f4q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\
    \x00\x00>q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x1d\x00\x00\
    \x00?\xc2\x80\x00\x00@\x00\x00\x00@@\x00\x00@\xc2\x80\x00\x00@\xc2\xa0\x00\x00\xc3\x80\
    \xc3\x90\x00\x00q\x13h\x07\x86q\x14Rq\x15tq\x16bX\x07\x00\x00\x00fortranq\x17h\x02h\x03K\
    \x00\x85q\x18h\x09\x87q\x19Rq\x1a(K\x01K\x02K\x03\x86q\x1bh\x0dX\x02\x00\x00\x00i2q\x1c\
    \x89\x88\x87q\x1dRq\x1e(K\x03X\x01\x00\x00\x00<q\x1fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\
    \xffK\x00tq\x20b\x88h\x05X\x0c\x00\x00\x00\x01\x00\x04\x00\x02\x00\x05\x00\x03\x00\x06\
    \x00q!h\x07\x86q\"Rq#tq$bX\x0a\x00\x00\x00be_fortranq%h\x02h\x03K\x00\x85q&h\x09\x87q'Rq\
    ((K\x01K\x02K\x03\x86q)h\x10\x88h\x05X\x1d\x00\x00\x00?\xc2\x80\x00\x00@\xc2\x80\x00\x00\
    @\x00\x00\x00@\xc2\xa0\x00\x00@@\x00\x00\xc3\x80\xc3\x90\x00\x00q*h\x07\x86q+Rq,tq-bu.";

    /// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=3
    const NP2_P3_LAYOUTS: &[u8] =
        b"\x80\x03}q\x00(X\x02\x00\x00\x00beq\x01cnumpy._core.multiarray\x0a_reconstruct\x0aq\x02c\
    numpy\x0andarray\x0aq\x03K\x00\x85q\x04C\x01bq\x05\x87q\x06Rq\x07(K\x01K\x02K\x03\x86q\
    \x08cnumpy\x0adtype\x0aq\x09X\x02\x00\x00\x00f4q\x0a\x89\x88\x87q\x0bRq\x0c(K\x03X\x01\
    \x00\x00\x00>q\x0dNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0eb\x89C\x18?\x80\x00\
    \x00@\x00\x00\x00@@\x00\x00@\x80\x00\x00@\xa0\x00\x00\xc0\xd0\x00\x00q\x0ftq\x10bX\x07\
    \x00\x00\x00fortranq\x11h\x02h\x03K\x00\x85q\x12h\x05\x87q\x13Rq\x14(K\x01K\x02K\x03\x86\
    q\x15h\x09X\x02\x00\x00\x00i2q\x16\x89\x88\x87q\x17Rq\x18(K\x03X\x01\x00\x00\x00<q\x19NN\
    NJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x1ab\x88C\x0c\x01\x00\x04\x00\x02\x00\x05\x00\
    \x03\x00\x06\x00q\x1btq\x1cbX\x0a\x00\x00\x00be_fortranq\x1dh\x02h\x03K\x00\x85q\x1eh\
    \x05\x87q\x1fRq\x20(K\x01K\x02K\x03\x86q!h\x0c\x88C\x18?\x80\x00\x00@\x80\x00\x00@\x00\
    \x00\x00@\xa0\x00\x00@@\x00\x00\xc0\xd0\x00\x00q\"tq#bu.";

    /// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=4
    const NP2_P4_LAYOUTS: &[u8] =
        b"\x80\x04\x95K\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02be\x94\x8c\x16numpy._core.multiar\
    ray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\
    \x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x05\x8c\x05dtype\x94\x93\x94\
    \x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\
    \xffK\x00t\x94b\x89C\x18?\x80\x00\x00@\x00\x00\x00@@\x00\x00@\x80\x00\x00@\xa0\x00\x00\
    \xc0\xd0\x00\x00\x94t\x94b\x8c\x07fortran\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\
    \x01K\x02K\x03\x86\x94h\x0e\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x88C\x0c\x01\x00\x04\x00\x02\x00\x05\x00\
    \x03\x00\x06\x00\x94t\x94b\x8c\x0abe_fortran\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\
    \x94(K\x01K\x02K\x03\x86\x94h\x11\x88C\x18?\x80\x00\x00@\x80\x00\x00@\x00\x00\x00@\xa0\
    \x00\x00@@\x00\x00\xc0\xd0\x00\x00\x94t\x94bu.";

    /// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=5
    const NP2_P5_LAYOUTS: &[u8] =
        b"\x80\x05\x95.\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02be\x94\x8c\x13numpy._core.numeric\
    \x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x18\x00\x00\x00\x00\x00\x00\x00?\x80\x00\x00@\
    \x00\x00\x00@@\x00\x00@\x80\x00\x00@\xa0\x00\x00\xc0\xd0\x00\x00\x94\x8c\x05numpy\x94\
    \x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\
    \xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94\x8c\x01C\x94t\x94R\x94\x8c\
    \x07fortran\x94h\x04(\x96\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x00\x04\x00\x02\x00\x05\
    \x00\x03\x00\x06\x00\x94h\x08\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\
    \xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94\x8c\x01F\x94t\x94R\x94\
    \x8c\x0abe_fortran\x94h\x04(\x96\x18\x00\x00\x00\x00\x00\x00\x00?\x80\x00\x00@\x80\x00\
    \x00@\x00\x00\x00@\xa0\x00\x00@@\x00\x00\xc0\xd0\x00\x00\x94h\x0bK\x02K\x03\x86\x94h\x1a\
    t\x94R\x94u.";

    /// numpy 2.4.6: two models: CLIP_ViTL_14@336 float16 (1, 8) 0.1..0.8, DINO_ViTB_8 float32 (1, 6) 1..6
    const NP2_P4_TWO_MODELS: &[u8] =
        b"\x80\x04\x95\x1a\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x10CLIP_ViTL_14@336\x94\x8c\x16nu\
    mpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\
    \x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01K\x08\x86\x94h\x05\x8c\x05dty\
    pe\x94\x93\x94\x8c\x02f2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xff\
    J\xff\xff\xff\xffK\x00t\x94b\x89C\x10f.f2\xcd4f6\x008\xcd8\x9a9f:\x94t\x94b\x8c\x0bDINO_\
    ViTB_8\x94h\x04h\x07K\x00\x85\x94h\x09\x87\x94R\x94(K\x01K\x01K\x06\x86\x94h\x0e\x8c\x02\
    f4\x94\x89\x88\x87\x94R\x94(K\x03h\x12NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\
    \x89C\x18\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00\x00\xc0@\x94\
    t\x94bu.";

    /// numpy 2.4.6: one float32 array [[7 8]] under two keys a and b (the second is a BINGET)
    const NP2_P4_SHARED: &[u8] =
        b"\x80\x04\x95\xa1\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x16numpy._core.multi\
    array\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01K\x02\x86\x94h\x05\x8c\x05dtype\x94\x93\
    \x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\
    \xff\xffK\x00t\x94b\x89C\x08\x00\x00\xe0@\x00\x00\x00A\x94t\x94b\x8c\x01b\x94h\x0bu.";

    /// numpy 2.4.6: an empty float32 (1, 0) array: protocol 2 spells its data as __builtin__ bytes()
    const NP2_P2_EMPTY: &[u8] =
        b"\x80\x02}q\x00X\x01\x00\x00\x00eq\x01cnumpy._core.multiarray\x0a_reconstruct\x0aq\x02cnu\
    mpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\x00\x00bq\x06X\
    \x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x01K\x00\x86q\x0ccnumpy\
    \x0adtype\x0aq\x0dX\x02\x00\x00\x00f4q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\x00\x00\
    <q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89c__builtin__\x0abytes\x0aq\
    \x13)Rq\x14tq\x15bs.";

    /// numpy 2.4.6: a non-contiguous float32 view [0 2 4]: protocol 5 falls back to _reconstruct
    const NP2_P5_STRIDED: &[u8] =
        b"\x80\x05\x95\x9c\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01s\x94\x8c\x16numpy._core.multia\
    rray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x03\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\
    \x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00t\x94b\x89C\x0c\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x80@\x94t\x94bs.";

    /// numpy 2.4.6: a read-only float64 [9 10]: _frombuffer gets bytes, not a bytearray
    const NP2_P5_READONLY: &[u8] =
        b"\x80\x05\x95\x84\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01r\x94\x8c\x13numpy._core.numeri\
    c\x94\x8c\x0b_frombuffer\x94\x93\x94(C\x10\x00\x00\x00\x00\x00\x00\"@\x00\x00\x00\x00\
    \x00\x00$@\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\
    \x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02\x85\x94\x8c\
    \x01C\x94t\x94R\x94s.";

    /// numpy 2.4.6: a 0-d float64 array 2.5, shape ()
    const NP2_P4_ZERO_DIM: &[u8] =
        b"\x80\x04\x95\x95\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01z\x94\x8c\x16numpy._core.multia\
    rray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01)h\x05\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\
    \x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\
    \x89C\x08\x00\x00\x00\x00\x00\x00\x04@\x94t\x94bs.";

    /// numpy 2.4.6: hostile: protocol 5 with buffer_callback: NEXT_BUFFER, data not in the file
    const NP2_P5_OUT_OF_BAND: &[u8] =
        b"\x80\x05\x95t\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01m\x94\x8c\x13numpy._core.numeric\
    \x94\x8c\x0b_frombuffer\x94\x93\x94(\x97\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\
    \x02f2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00t\x94bK\x01K\x04\x86\x94\x8c\x01C\x94t\x94R\x94s.";

    /// numpy 2.4.6: object-dtype array [None 1]
    const NP2_P4_OBJECT: &[u8] =
        b"\x80\x04\x95\x94\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01o\x94\x8c\x16numpy._core.multia\
    rray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\
    \x02O8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    ?t\x94b\x89]\x94(NK\x01et\x94bs.";

    /// numpy 2.4.6: unicode-dtype array ['ab'] ('U2')
    const NP2_P4_UNICODE: &[u8] =
        b"\x80\x04\x95\x92\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01u\x94\x8c\x16numpy._core.multia\
    rray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\
    \x02U2\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNK\x08K\x04K\x08t\x94b\x89C\x08a\x00\
    \x00\x00b\x00\x00\x00\x94t\x94bs.";

    /// numpy 2.4.6: complex64 array [1+2j]
    const NP2_P4_COMPLEX: &[u8] =
        b"\x80\x04\x95\x98\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01c\x94\x8c\x16numpy._core.multia\
    rray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\
    \x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x01\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\
    \x02c8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\
    \x00t\x94b\x89C\x08\x00\x00\x80?\x00\x00\x00@\x94t\x94bs.";

    /// numpy 2.4.6: a numpy scalar float32(1.0), not an array
    const NP2_P4_SCALAR: &[u8] =
        b"\x80\x04\x95m\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01s\x94\x8c\x16numpy._core.multiarra\
    y\x94\x8c\x06scalar\x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\
    \x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\
    C\x04\x00\x00\x80?\x94\x86\x94R\x94s.";

    /// numpy 2.4.6: a plain list as a value
    const NP2_P4_LIST_VALUE: &[u8] =
        b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01l\x94]\x94(G?\xf0\x00\x00\x00\
    \x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.";

    /// numpy 2.4.6: a list holding an array, at top level
    const NP2_P4_TOP_LIST: &[u8] =
        b"\x80\x04\x95\x96\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x16numpy._core.multiarray\x94\x8c\
    \x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\
    \x01b\x94\x87\x94R\x94(K\x01K\x01K\x04\x86\x94h\x04\x8c\x05dtype\x94\x93\x94\x8c\x02f2\
    \x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\
    \x94b\x89C\x08\x00>\x00\xc0\x00B\x004\x94t\x94ba.";

    /// numpy 2.4.6: hostile: {'m': array, 'x': obj whose __reduce__ is os.system('echo pwned')}, protocol=2
    const HOSTILE_P2_OS_SYSTEM: &[u8] =
        b"\x80\x02}q\x00(X\x01\x00\x00\x00mq\x01cnumpy._core.multiarray\x0a_reconstruct\x0aq\x02cn\
    umpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\x00\x00bq\x06\
    X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x01K\x04\x86q\x0ccnump\
    y\x0adtype\x0aq\x0dX\x02\x00\x00\x00f2q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\x00\
    \x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x09\x00\x00\x00\
    \x00>\x00\xc3\x80\x00B\x004q\x13h\x07\x86q\x14Rq\x15tq\x16bX\x01\x00\x00\x00xq\x17cposix\
    \x0asystem\x0aq\x18X\x0a\x00\x00\x00echo\x20pwnedq\x19\x85q\x1aRq\x1bu.";

    /// numpy 2.4.6: hostile: os.system('echo pwned') via __reduce__, protocol=4
    const HOSTILE_P4_OS_SYSTEM: &[u8] =
        b"\x80\x04\x95%\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\
    \x0aecho\x20pwned\x94\x85\x94R\x94.";

    /// numpy 2.4.6: hostile: builtins.eval('1+1') via __reduce__, protocol=4
    const HOSTILE_P4_EVAL: &[u8] =
        b"\x80\x04\x95&\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01m\x94\x8c\x08builtins\x94\x8c\x04e\
    val\x94\x93\x94\x8c\x031+1\x94\x85\x94R\x94s.";

    /// numpy 2.4.6: hostile: builtins.eval via __reduce__, protocol=2 (spelled __builtin__ eval)
    const HOSTILE_P2_EVAL: &[u8] =
        b"\x80\x02c__builtin__\x0aeval\x0aq\x00X\x03\x00\x00\x001+1q\x01\x85q\x02Rq\x03.";

    /// numpy 2.4.6: hostile: subprocess.Popen(['true']) via __reduce__, protocol=5
    const HOSTILE_P5_POPEN: &[u8] =
        b"\x80\x05\x95-\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01m\x94\x8c\x0asubprocess\x94\x8c\
    \x05Popen\x94\x93\x94]\x94\x8c\x04true\x94a\x85\x94R\x94s.";
}
