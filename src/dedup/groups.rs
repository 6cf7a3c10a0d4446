//! Groups: the connected components of the near-duplicate pairs. A and B similar, B and C
//! similar: A, B and C form one group, even when A and C are not similar themselves, since
//! putting any of them in another split than the rest would leak.

/// Union-find over sample indices, with path halving and union by size.
struct Components {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Components {
    fn new(n: usize) -> Components {
        Components {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn root(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn join(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.root(a), self.root(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

/// The groups of `n` items linked by `pairs`, each group's members sorted and the groups
/// sorted by their first member. Items in no pair are in no group.
pub fn components(n: usize, pairs: impl IntoIterator<Item = (u32, u32)>) -> Vec<Vec<u32>> {
    let mut sets = Components::new(n);
    let mut linked = vec![false; n];
    for (a, b) in pairs {
        sets.join(a, b);
        linked[a as usize] = true;
        linked[b as usize] = true;
    }
    let mut by_root: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for item in 0..n as u32 {
        if linked[item as usize] {
            by_root.entry(sets.root(item)).or_default().push(item);
        }
    }
    let mut groups: Vec<Vec<u32>> = by_root.into_values().collect();
    groups.sort_unstable_by_key(|g| g[0]);
    groups
}

#[cfg(test)]
mod tests {
    use super::components;

    #[test]
    fn chains_make_one_group_and_loners_none() {
        let groups = components(8, [(5, 1), (1, 3), (6, 7), (3, 5)]);
        assert_eq!(groups, vec![vec![1, 3, 5], vec![6, 7]]);
        assert!(components(3, []).is_empty());
    }
}
