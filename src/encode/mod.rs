//! Encoders: typed arrays in, the bytes numpy and Python would have written out.
//!
//! Two consumers need them. `extract` rebuilds an SFHQ part from our shards, and the code
//! people already run on SFHQ (`np.load(path)['landmarks']`,
//! `pickle.load(f)['CLIP_ViTL_14@336']`) must work on the result unchanged: so landmarks
//! go back into `.npz` archives and features into pickled dicts, in the layout numpy
//! writes. The WebDataset writer ships every array as a `.npy` member that `np.load` and
//! webdataset's decoders read, in its column's dtype (the widest any sample has, so that
//! every sample has one type per member, as the Hugging Face loader needs); `KEY.json`
//! names the narrower source dtype, and `extract` narrows the array back, so nothing is lost.
//!
//! Like the decoders, these only fill byte buffers: callers do the I/O. The output is a
//! pure function of the input, which the byte-identical-shards guarantee relies on. `.npy`
//! files are byte for byte what `np.save` writes (numpy 1.26 and 2.x agree), pickles what
//! `pickle.dumps` writes under numpy 1.x (the tests hold numpy's own output); an `.npz`
//! holds those same `.npy` members, but its zip headers are the `zip` crate's, not those
//! of Python's `zipfile`.

pub(crate) mod npy;
pub(crate) mod pickle;
