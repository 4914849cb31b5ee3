//! A small argument parser: positional words, `--flag value` options and `--switch`es.

use std::collections::BTreeMap;

pub struct Args {
    pub words: Vec<String>,
    options: BTreeMap<String, String>,
    switches: Vec<String>,
}

pub const SWITCHES: &[&str] = &["--public", "--help", "-h"];

impl Args {
    pub fn parse(raw: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut words = Vec::new();
        let mut options = BTreeMap::new();
        let mut switches = Vec::new();
        let mut it = raw.into_iter();
        while let Some(a) = it.next() {
            if SWITCHES.contains(&a.as_str()) {
                switches.push(a);
            } else if let Some(name) = a.strip_prefix("--") {
                let (name, value) = match name.split_once('=') {
                    Some((n, v)) => (n.to_string(), v.to_string()),
                    None => (
                        name.to_string(),
                        it.next().ok_or_else(|| format!("--{name} needs a value"))?,
                    ),
                };
                if options.insert(name.clone(), value).is_some() {
                    return Err(format!("--{name} is given twice"));
                }
            } else {
                words.push(a);
            }
        }
        Ok(Args {
            words,
            options,
            switches,
        })
    }

    pub fn has(&self, switch: &str) -> bool {
        self.switches.iter().any(|s| s == switch)
    }

    pub fn opt(&mut self, name: &str) -> Option<String> {
        self.options.remove(name)
    }

    pub fn req(&mut self, name: &str) -> Result<String, String> {
        self.opt(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    pub fn parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, String> {
        self.opt(name)
            .map(|v| v.parse::<T>().map_err(|e| format!("--{name}: {e}")))
            .transpose()
    }

    pub fn req_parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        name: &str,
    ) -> Result<T, String> {
        self.parsed(name)?
            .ok_or_else(|| format!("--{name} is required"))
    }

    /// Refuses options nobody asked for (a typo should not be silently ignored).
    pub fn finish(self) -> Result<(), String> {
        match self.options.keys().next() {
            Some(k) => Err(format!("unknown option --{k}")),
            None => Ok(()),
        }
    }
}
