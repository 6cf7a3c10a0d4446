//! A zip writer that writes what it is told, including what real writers refuse: a name
//! twice, central-directory entries sharing one member's data, a compression method the
//! reader does not support. Members are stored (method 0) unless a method is given; the
//! bytes are then written as they are, since the reader must refuse them before decoding.

pub struct RawZip {
    out: Vec<u8>,
    central: Vec<u8>,
    count: u16,
}

/// A local header written earlier, for central entries that point at it again.
#[derive(Clone, Copy)]
pub struct Written {
    offset: u32,
    crc: u32,
    len: u32,
    method: u16,
}

impl Default for RawZip {
    fn default() -> Self {
        RawZip::new()
    }
}

impl RawZip {
    pub fn new() -> RawZip {
        RawZip {
            out: Vec::new(),
            central: Vec::new(),
            count: 0,
        }
    }

    /// A stored member.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Written {
        self.add_with_method(name, data, 0)
    }

    /// A member whose header claims `method`; `data` is written unchanged.
    pub fn add_with_method(&mut self, name: &str, data: &[u8], method: u16) -> Written {
        let written = Written {
            offset: self.out.len() as u32,
            crc: crc32fast::hash(data),
            len: data.len() as u32,
            method,
        };
        self.out.extend(0x0403_4b50u32.to_le_bytes());
        self.out.extend(20u16.to_le_bytes()); // version needed
        self.out.extend(0u16.to_le_bytes()); // flags
        self.out.extend(method.to_le_bytes());
        self.out.extend([0u8; 4]); // time, date
        self.out.extend(written.crc.to_le_bytes());
        self.out.extend(written.len.to_le_bytes());
        self.out.extend(written.len.to_le_bytes());
        self.out.extend((name.len() as u16).to_le_bytes());
        self.out.extend(0u16.to_le_bytes());
        self.out.extend(name.as_bytes());
        self.out.extend(data);
        self.central_entry(name, written);
        written
    }

    /// A stored member whose central record claims `size` bytes (in a zip64 extra field)
    /// while its data holds `data.len()`.
    pub fn add_lying_size(&mut self, name: &str, data: &[u8], size: u64) {
        let count = self.count;
        let central_len = self.central.len();
        let w = self.add(name, data);
        // Rewrite the central record just added: size marker plus a zip64 extra field.
        self.central.truncate(central_len);
        self.count = count;
        let mut extra = Vec::new();
        extra.extend(1u16.to_le_bytes());
        extra.extend(8u16.to_le_bytes());
        extra.extend(size.to_le_bytes());
        self.central_record(name, w, u32::MAX, &extra);
    }

    /// A central-directory entry named `name` pointing at a member written before.
    pub fn central_entry(&mut self, name: &str, w: Written) {
        self.central_record(name, w, w.len, &[]);
    }

    fn central_record(&mut self, name: &str, w: Written, size: u32, extra: &[u8]) {
        let c = &mut self.central;
        c.extend(0x0201_4b50u32.to_le_bytes());
        c.extend(20u16.to_le_bytes()); // made by
        c.extend(20u16.to_le_bytes()); // needed
        c.extend(0u16.to_le_bytes());
        c.extend(w.method.to_le_bytes());
        c.extend([0u8; 4]);
        c.extend(w.crc.to_le_bytes());
        c.extend(w.len.to_le_bytes());
        c.extend(size.to_le_bytes());
        c.extend((name.len() as u16).to_le_bytes());
        c.extend((extra.len() as u16).to_le_bytes());
        c.extend([0u8; 6]); // comment, disk, internal attributes
        c.extend(0u32.to_le_bytes()); // external attributes
        c.extend(w.offset.to_le_bytes());
        c.extend(name.as_bytes());
        c.extend(extra);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        let start = self.out.len() as u32;
        self.out.extend(&self.central);
        self.out.extend(0x0605_4b50u32.to_le_bytes());
        self.out.extend([0u8; 4]);
        self.out.extend(self.count.to_le_bytes());
        self.out.extend(self.count.to_le_bytes());
        self.out.extend((self.central.len() as u32).to_le_bytes());
        self.out.extend(start.to_le_bytes());
        self.out.extend(0u16.to_le_bytes());
        self.out
    }
}
