//! The reader's tests: crafted opcode streams, real pickles written by numpy 1.26.4 and
//! 2.4.6 (`fixtures/pickle_forms/unit/`), hostile files, truncations and mutations.

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
    NP1_P2_F16, NP1_P3_F16, NP1_P4_F16, NP1_P5_F16, NP2_P2_F16, NP2_P3_F16, NP2_P4_F16, NP2_P5_F16,
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
            "truncated: BINBYTES8 needs 1152921504606846976 bytes of operand, only 3 remain".into()
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
    let args_not_tuple = feature_dict_with(|p| p.global("numpy", "dtype").str("f4").op(op::REDUCE));
    assert!(malformed(&args_not_tuple).1.contains("a str as arguments"));
    let call_a_str = feature_dict_with(|p| p.str("os.system").op(op::EMPTY_TUPLE).op(op::REDUCE));
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
    let overflow =
        feature_dict_with(|p| p.frombuffer(&[0; 4], "f8", &[i32::MAX, i32::MAX, i32::MAX, 8], "C"));
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
    let negative_long = feature_dict_with(|p| p.op(op::LONG1).raw(&[2, 0x00, 0x80]).op(op::TUPLE1));
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
const NP1_P2_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np1_p2_f16.pickle");

/// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=3)
const NP1_P3_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np1_p3_f16.pickle");

/// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=4)
const NP1_P4_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np1_p4_f16.pickle");

/// numpy 1.26.4: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=5)
const NP1_P5_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np1_p5_f16.pickle");

/// numpy 1.26.4: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=3
const NP1_P3_DTYPES: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np1_p3_dtypes.pickle");

/// numpy 1.26.4: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=4
const NP1_P4_DTYPES: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np1_p4_dtypes.pickle");

/// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=2
const NP1_P2_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np1_p2_layouts.pickle");

/// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=3
const NP1_P3_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np1_p3_layouts.pickle");

/// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=4
const NP1_P4_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np1_p4_layouts.pickle");

/// numpy 1.26.4: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=5
const NP1_P5_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np1_p5_layouts.pickle");

/// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=2)
const NP2_P2_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np2_p2_f16.pickle");

/// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=3)
const NP2_P3_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np2_p3_f16.pickle");

/// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=4)
const NP2_P4_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_f16.pickle");

/// numpy 2.4.6: pickle.dumps({'CLIP_ViTL_14@336': array([[1.5, -2, 3, 0.25]], float16)}, protocol=5)
const NP2_P5_F16: &[u8] = include_bytes!("../../../fixtures/pickle_forms/unit/np2_p5_f16.pickle");

/// numpy 2.4.6: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=2
const NP2_P2_DTYPES: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p2_dtypes.pickle");

/// numpy 2.4.6: every supported dtype, keys f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, shape (2, 3), protocol=5
const NP2_P5_DTYPES: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p5_dtypes.pickle");

/// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=2
const NP2_P2_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p2_layouts.pickle");

/// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=3
const NP2_P3_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p3_layouts.pickle");

/// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=4
const NP2_P4_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_layouts.pickle");

/// numpy 2.4.6: '>f4' (2, 3) [[1 2 3] [4 5 -6.5]]; Fortran-order '<i2' [[1 2 3] [4 5 6]]; both, protocol=5
const NP2_P5_LAYOUTS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p5_layouts.pickle");

/// numpy 2.4.6: two models: CLIP_ViTL_14@336 float16 (1, 8) 0.1..0.8, DINO_ViTB_8 float32 (1, 6) 1..6
const NP2_P4_TWO_MODELS: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_two_models.pickle");

/// numpy 2.4.6: one float32 array [[7 8]] under two keys a and b (the second is a BINGET)
const NP2_P4_SHARED: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_shared.pickle");

/// numpy 2.4.6: an empty float32 (1, 0) array: protocol 2 spells its data as __builtin__ bytes()
const NP2_P2_EMPTY: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p2_empty.pickle");

/// numpy 2.4.6: a non-contiguous float32 view [0 2 4]: protocol 5 falls back to _reconstruct
const NP2_P5_STRIDED: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p5_strided.pickle");

/// numpy 2.4.6: a read-only float64 [9 10]: _frombuffer gets bytes, not a bytearray
const NP2_P5_READONLY: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p5_readonly.pickle");

/// numpy 2.4.6: a 0-d float64 array 2.5, shape ()
const NP2_P4_ZERO_DIM: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_zero_dim.pickle");

/// numpy 2.4.6: hostile: protocol 5 with buffer_callback: NEXT_BUFFER, data not in the file
const NP2_P5_OUT_OF_BAND: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p5_out_of_band.pickle");

/// numpy 2.4.6: object-dtype array [None 1]
const NP2_P4_OBJECT: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_object.pickle");

/// numpy 2.4.6: unicode-dtype array ['ab'] ('U2')
const NP2_P4_UNICODE: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_unicode.pickle");

/// numpy 2.4.6: complex64 array [1+2j]
const NP2_P4_COMPLEX: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_complex.pickle");

/// numpy 2.4.6: a numpy scalar float32(1.0), not an array
const NP2_P4_SCALAR: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_scalar.pickle");

/// numpy 2.4.6: a plain list as a value
const NP2_P4_LIST_VALUE: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_list_value.pickle");

/// numpy 2.4.6: a list holding an array, at top level
const NP2_P4_TOP_LIST: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/np2_p4_top_list.pickle");

/// numpy 2.4.6: hostile: {'m': array, 'x': obj whose __reduce__ is os.system('echo pwned')}, protocol=2
const HOSTILE_P2_OS_SYSTEM: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/hostile_p2_os_system.pickle");

/// numpy 2.4.6: hostile: os.system('echo pwned') via __reduce__, protocol=4
const HOSTILE_P4_OS_SYSTEM: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/hostile_p4_os_system.pickle");

/// numpy 2.4.6: hostile: builtins.eval('1+1') via __reduce__, protocol=4
const HOSTILE_P4_EVAL: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/hostile_p4_eval.pickle");

/// numpy 2.4.6: hostile: builtins.eval via __reduce__, protocol=2 (spelled __builtin__ eval)
const HOSTILE_P2_EVAL: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/hostile_p2_eval.pickle");

/// numpy 2.4.6: hostile: subprocess.Popen(['true']) via __reduce__, protocol=5
const HOSTILE_P5_POPEN: &[u8] =
    include_bytes!("../../../fixtures/pickle_forms/unit/hostile_p5_popen.pickle");
