//! Search parameters as FHIR R4 asks (search.html#errors): those a resource does not support
//! are ignored, or refused when the client sent `Prefer: handling=strict`; and the string
//! search of `Patient?name=` (case-insensitive, starts-with on any part of the name).

use super::FhirError;

/// The parameters every search takes besides the resource's own: paging.
pub const PAGING: [&str; 2] = ["_count", "_offset"];

/// How the client asked unknown parameters to be handled (`Prefer: handling=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handling {
    /// Ignore what the server does not support (the default).
    #[default]
    Lenient,
    /// Refuse a search with a parameter the server does not support.
    Strict,
}

impl Handling {
    /// Reads a `Prefer` header value, e.g. `handling=strict` or `return=minimal, handling=strict`.
    pub fn from_prefer(prefer: Option<&str>) -> Handling {
        let strict = prefer.is_some_and(|value| {
            value
                .split([',', ';'])
                .filter_map(|part| part.split_once('='))
                .any(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("handling")
                        && v.trim().trim_matches('"').eq_ignore_ascii_case("strict")
                })
        });
        if strict {
            Handling::Strict
        } else {
            Handling::Lenient
        }
    }
}

/// Keeps the parameters `supported` (plus paging) in their order; any other is dropped, or is
/// an error under [`Handling::Strict`]. What is kept is what the search uses (and its `self` link shows).
pub fn supported_params(
    params: &[(String, String)],
    supported: &[&str],
    handling: Handling,
) -> Result<Vec<(String, String)>, FhirError> {
    let mut used = Vec::with_capacity(params.len());
    for (key, value) in params {
        let known = supported.contains(&key.as_str()) || PAGING.contains(&key.as_str());
        if known {
            used.push((key.clone(), value.clone()));
        } else if handling == Handling::Strict {
            return Err(FhirError::BadSearch(format!(
                "unknown search parameter {key:?} (supported: {})",
                supported.join(", ")
            )));
        }
    }
    Ok(used)
}

/// Lower-cases and drops combining accents from the common Latin letters, so `é` matches `e`.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

/// FHIR string search on a name: true when the whole name or any of its parts (words split at
/// spaces, hyphens, commas, apostrophes and full stops) starts with `query`, ignoring case and
/// accents. An empty query matches nothing.
pub fn name_matches(name: &str, query: &str) -> bool {
    let query = fold(query.trim());
    if query.is_empty() {
        return false;
    }
    let name = fold(name);
    name.starts_with(&query)
        || name
            .split(|c: char| c.is_whitespace() || matches!(c, '-' | ',' | '\'' | '.'))
            .any(|part| part.starts_with(&query))
}

/// One `name=` parameter: comma-separated alternatives, any of which may match.
pub fn name_param_matches(name: Option<&str>, value: &str) -> bool {
    name.is_some_and(|name| value.split(',').any(|q| name_matches(name, q)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_parameters_are_ignored_unless_strict() {
        let params = pairs(&[("name", "ada"), ("colour", "red"), ("_count", "2")]);
        let used = supported_params(&params, &["name"], Handling::Lenient).unwrap();
        assert_eq!(used, pairs(&[("name", "ada"), ("_count", "2")]));
        let strict = supported_params(&params, &["name"], Handling::Strict);
        assert!(matches!(strict, Err(FhirError::BadSearch(m)) if m.contains("colour")));
    }

    #[test]
    fn prefer_header_selects_strict_handling() {
        assert_eq!(
            Handling::from_prefer(Some("handling=strict")),
            Handling::Strict
        );
        assert_eq!(
            Handling::from_prefer(Some("return=minimal, handling=STRICT")),
            Handling::Strict
        );
        assert_eq!(
            Handling::from_prefer(Some("handling=lenient")),
            Handling::Lenient
        );
        assert_eq!(Handling::from_prefer(None), Handling::Lenient);
    }

    #[test]
    fn name_search_is_a_case_insensitive_prefix_of_any_part() {
        for query in ["ada", "ADA", "Ada B", "byr", "Byron", "lovel", "  ada "] {
            assert!(name_matches("Ada Byron-Lovelace", query), "{query}");
        }
        for query in ["da", "ron", "x", "", "Ada Lovelace"] {
            assert!(!name_matches("Ada Byron-Lovelace", query), "{query}");
        }
        assert!(name_matches("Zoë Éclair", "zoe"));
        assert!(name_matches("Zoë Éclair", "ecl"));
        assert!(name_param_matches(Some("Ada Byron"), "grace,ada"));
        assert!(!name_param_matches(None, "ada"));
    }
}
