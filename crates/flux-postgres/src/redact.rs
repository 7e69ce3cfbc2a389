//! A connection string as errors and `Debug` print it: never with its
//! password.

/// `url` without its password, in either form tokio-postgres takes: a URL
/// (`postgresql://user:secret@host/db` becomes `postgresql://user@host/db`)
/// or `key=value` pairs (`password=secret` is left out). What the sink's
/// errors and `Debug` print, and what a caller's own messages may.
///
/// ```
/// assert_eq!(flux_postgres::redacted("postgresql://flux:s3cret@db/flux"), "postgresql://flux@db/flux");
/// ```
pub fn redacted(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        return match authority.rsplit_once('@') {
            Some((user_info, hosts)) => {
                let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
                // A password may also come as a query parameter.
                format!("{scheme}://{user}@{hosts}{}", without_password_parameter(path))
            }
            None => format!("{scheme}://{authority}{}", without_password_parameter(path)),
        };
    }
    let kept: Vec<&str> = url.split_whitespace().filter(|pair| !pair.starts_with("password=")).collect();
    kept.join(" ")
}

fn without_password_parameter(path: &str) -> String {
    let Some((before, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query.split('&').filter(|pair| !pair.starts_with("password=")).collect();
    if kept.is_empty() { before.to_owned() } else { format!("{before}?{}", kept.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_password_is_never_printed() {
        assert_eq!(redacted("postgresql://flux:s3cret@127.0.0.1:5432/flux"), "postgresql://flux@127.0.0.1:5432/flux");
        assert_eq!(redacted("postgres://flux@db/flux"), "postgres://flux@db/flux");
        assert_eq!(redacted("postgres://a:b:c@host"), "postgres://a@host", "everything after the user's colon");
        assert_eq!(redacted("postgres://p%40ss:x@h/db?sslmode=disable"), "postgres://p%40ss@h/db?sslmode=disable");
        assert_eq!(redacted("postgresql://h/db?user=u&password=x&port=1"), "postgresql://h/db?user=u&port=1");
        assert_eq!(redacted("postgresql://h/db?password=x"), "postgresql://h/db");
        assert_eq!(redacted("host=h user=u password=x dbname=d"), "host=h user=u dbname=d");
    }
}
