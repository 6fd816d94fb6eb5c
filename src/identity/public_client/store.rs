//! Where `handler stdio` keeps its sign-in between runs: one small JSON file, `sign-in.json`,
//! in a directory of the user's own.
//!
//! What it holds, and nothing else: the refresh token; who signed in (tenant id, object id,
//! user name); and what the token belongs to (the authority host, the configured tenant, the
//! public client id). A token stored for another tenant, app or cloud is never sent anywhere:
//! it is set aside and the user signs in again, and the new sign-in replaces it. Access tokens
//! are never written: they live an hour and the refresh token gets new ones.
//!
//! Where: `MCP_TOKEN_STORE_DIR`, else the platform's configuration directory with the
//! subdirectory `m365-mcp-handler`: `$XDG_CONFIG_HOME` or `~/.config` on Linux,
//! `~/Library/Application Support` on macOS, `%APPDATA%` on Windows. No OS keyring: the crates
//! for one pull a D-Bus stack onto Linux, and a file readable by its owner alone is what the
//! Azure CLI and MSAL's own caches use on Linux too.
//!
//! On Unix the directory is created with mode 0700 and the file with 0600, each with that mode
//! from the start (never a moment when another user could read them); a directory that exists
//! with wider permissions is narrowed. Every write goes to a new temporary file that is renamed
//! over the old one, so a crash leaves the old sign-in or the new one, never half of either. A
//! file that others can read is not trusted: the user signs in again. On Windows the file
//! inherits the ACL of `%APPDATA%`, which is the user's own.
//!
//! `handler logout` removes the file. Entra offers public clients no way to revoke a refresh
//! token; removing it from the machine is what logging out can do (an administrator can revoke
//! the user's sessions).

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

use super::Account;
use crate::config::SecretString;

pub const FILE_NAME: &str = "sign-in.json";
/// The subdirectory of the platform's configuration directory.
pub const APP_DIR: &str = "m365-mcp-handler";
const VERSION: u32 = 1;

/// What a stored refresh token belongs to; it is used only for exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The authority host, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    /// The configured tenant.
    pub tenant_id: String,
    /// The public client's id.
    pub client_id: String,
}

/// A sign-in as stored.
#[derive(Debug, Clone)]
pub struct StoredSignIn {
    pub binding: Binding,
    pub account: Account,
    pub refresh_token: SecretString,
}

/// The file's shape. The refresh token is a plain `String` only here, on its way to or from
/// the file.
#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(flatten)]
    binding: Binding,
    account: Account,
    refresh_token: String,
}

/// What loading found.
#[derive(Debug)]
pub enum Loaded {
    /// Nothing stored: a first sign-in.
    Nothing,
    SignIn(StoredSignIn),
    /// Something stored that must not be used, and why (for the user, on stderr).
    SetAside(String),
}

/// Where the sign-in is kept.
pub enum TokenStore {
    /// In `dir`/[`FILE_NAME`].
    File { dir: PathBuf },
    /// In this process only: for the local stand-ins, whose refresh tokens mean nothing to the
    /// next process (and must not replace a real one on disk).
    Memory(Mutex<Option<StoredSignIn>>),
}

impl TokenStore {
    /// The store in `dir`, or in the platform's configuration directory (found through `env`,
    /// the process environment) when `dir` is `None`.
    pub fn locate(
        dir: Option<PathBuf>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let dir = match dir {
            Some(dir) => dir,
            None => default_dir(env)?,
        };
        Ok(TokenStore::File { dir })
    }

    pub fn in_memory() -> Self {
        TokenStore::Memory(Mutex::default())
    }

    /// The file, for the user's information; `None` in memory.
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            TokenStore::File { dir } => Some(dir.join(FILE_NAME)),
            TokenStore::Memory(_) => None,
        }
    }

    /// Whatever is stored, whoever it belongs to; why it cannot be read otherwise.
    pub fn stored(&self) -> Result<Option<StoredSignIn>, String> {
        match self {
            TokenStore::Memory(stored) => Ok(stored.lock().expect("store lock").clone()),
            TokenStore::File { dir } => read(&dir.join(FILE_NAME)),
        }
    }

    /// The stored sign-in, if there is one and it belongs to `binding`.
    pub fn load(&self, binding: &Binding) -> Loaded {
        let stored = match self.stored() {
            Ok(Some(stored)) => stored,
            Ok(None) => return Loaded::Nothing,
            Err(why) => return Loaded::SetAside(why),
        };
        if &stored.binding != binding {
            return Loaded::SetAside(format!(
                "the stored sign-in is for tenant {} and app {} at {}, not this configuration's",
                stored.binding.tenant_id, stored.binding.client_id, stored.binding.authority
            ));
        }
        Loaded::SignIn(stored)
    }

    /// Replaces what is stored with `sign_in`.
    pub fn save(&self, sign_in: &StoredSignIn) -> io::Result<()> {
        match self {
            TokenStore::Memory(stored) => {
                *stored.lock().expect("store lock") = Some(sign_in.clone());
                Ok(())
            }
            TokenStore::File { dir } => write(dir, sign_in),
        }
    }

    /// Removes what is stored; `true` if there was something.
    pub fn remove(&self) -> io::Result<bool> {
        match self {
            TokenStore::Memory(stored) => Ok(stored.lock().expect("store lock").take().is_some()),
            TokenStore::File { dir } => match fs::remove_file(dir.join(FILE_NAME)) {
                Ok(()) => Ok(true),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(error) => Err(error),
            },
        }
    }
}

/// The platform's configuration directory for this application.
pub fn default_dir(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, String> {
    let set = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let base = if cfg!(windows) {
        set("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        set("HOME").map(|home| Path::new(&home).join("Library/Application Support"))
    } else {
        set("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| set("HOME").map(|home| Path::new(&home).join(".config")))
    };
    base.map(|base| base.join(APP_DIR)).ok_or_else(|| {
        "there is no home directory to keep the sign-in in (HOME, or APPDATA on Windows, is \
         not set)\n    fix: set MCP_TOKEN_STORE_DIR to a directory of your own"
            .to_owned()
    })
}

/// Reads `path`: `None` if it does not exist; an error (why it is set aside) if it cannot be
/// trusted or read.
fn read(path: &Path) -> Result<Option<StoredSignIn>, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("{} cannot be read: {error}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(|error| format!("{} cannot be read: {error}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} can be read by other users (mode {:o}), so its refresh token is not \
                 trusted",
                path.display(),
                mode & 0o777
            ));
        }
    }
    let file: File = serde_json::from_str(&text)
        .map_err(|_| format!("{} is not a sign-in this version wrote", path.display()))?;
    if file.version != VERSION {
        return Err(format!(
            "{} has version {}, this handler writes {VERSION}",
            path.display(),
            file.version
        ));
    }
    Ok(Some(StoredSignIn {
        binding: file.binding,
        account: file.account,
        refresh_token: SecretString::from(file.refresh_token),
    }))
}

/// Writes `sign_in` to `dir`/[`FILE_NAME`] through a temporary file and a rename.
fn write(dir: &Path, sign_in: &StoredSignIn) -> io::Result<()> {
    create_private_dir(dir)?;
    let file = File {
        version: VERSION,
        binding: sign_in.binding.clone(),
        account: sign_in.account.clone(),
        refresh_token: sign_in.refresh_token.expose().to_owned(),
    };
    let json = serde_json::to_vec_pretty(&file).expect("a sign-in serializes");
    let mut suffix = [0u8; 8];
    aws_lc_rs::rand::fill(&mut suffix).expect("system randomness");
    let temporary = dir.join(format!(
        ".{FILE_NAME}.{}.tmp",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let written = write_new_private(&temporary, &json)
        .and_then(|()| fs::rename(&temporary, dir.join(FILE_NAME)));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// Creates `dir` (and missing parents) readable by its owner alone; narrows it if it exists.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent)?;
        }
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                let mode = fs::metadata(dir)?.permissions().mode();
                if mode & 0o077 != 0 {
                    fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o700))?;
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// Creates `path`, which must not exist, with mode 0600 from the start, and writes `bytes`.
fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding() -> Binding {
        Binding {
            authority: "https://login.microsoftonline.com".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            client_id: "0c7d4c0e-6a3e-4a2b-9a51-3c1f2f6b8e27".into(),
        }
    }

    fn sign_in(refresh_token: &str) -> StoredSignIn {
        StoredSignIn {
            binding: binding(),
            account: Account {
                tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
                object_id: "dad36cb3-638f-4def-a708-7bcbb5e43a7e".into(),
                username: "adele@contoso.example".into(),
            },
            refresh_token: SecretString::from(refresh_token),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "m365-mcp-store-test-{name}-{}",
            uuid::Uuid::new_v4()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_default_directory_follows_the_platform() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        if cfg!(target_os = "linux") {
            assert_eq!(
                default_dir(&env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/cfg")])).unwrap(),
                Path::new("/cfg/m365-mcp-handler")
            );
            assert_eq!(
                default_dir(&env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "rel")])).unwrap(),
                Path::new("/home/u/.config/m365-mcp-handler"),
                "a relative XDG_CONFIG_HOME is ignored, as the spec says"
            );
        }
        let error = default_dir(&env(&[])).unwrap_err();
        assert!(error.contains("MCP_TOKEN_STORE_DIR"), "{error}");
    }

    #[test]
    fn a_sign_in_round_trips_and_is_replaced_whole() {
        let dir = temp_dir("round-trip").join("nested");
        let store = TokenStore::File { dir: dir.clone() };
        assert!(matches!(store.load(&binding()), Loaded::Nothing));
        store.save(&sign_in("rt-1")).unwrap();
        store.save(&sign_in("rt-2")).unwrap();
        let Loaded::SignIn(loaded) = store.load(&binding()) else {
            panic!("stored");
        };
        assert_eq!(loaded.refresh_token.expose(), "rt-2");
        assert_eq!(loaded.account.username, "adele@contoso.example");
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [FILE_NAME], "no temporary files left");
        assert!(store.remove().unwrap());
        assert!(!store.remove().unwrap());
        assert!(matches!(store.load(&binding()), Loaded::Nothing));
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_and_the_file_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let parent = temp_dir("modes");
        let dir = parent.join(APP_DIR);
        let store = TokenStore::File { dir: dir.clone() };
        store.save(&sign_in("rt")).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        store.save(&sign_in("rt")).unwrap();
        assert_eq!(mode(&dir), 0o700, "narrowed");

        fs::set_permissions(dir.join(FILE_NAME), fs::Permissions::from_mode(0o644)).unwrap();
        let Loaded::SetAside(why) = store.load(&binding()) else {
            panic!("a file others can read is not trusted");
        };
        assert!(why.contains("other users"), "{why}");
    }

    #[test]
    fn a_sign_in_for_another_tenant_app_or_cloud_is_set_aside() {
        let store = TokenStore::in_memory();
        store.save(&sign_in("rt")).unwrap();
        for other in [
            Binding {
                tenant_id: "00000000-0000-0000-0000-000000000001".into(),
                ..binding()
            },
            Binding {
                client_id: "00000000-0000-0000-0000-000000000002".into(),
                ..binding()
            },
            Binding {
                authority: "https://login.microsoftonline.us".into(),
                ..binding()
            },
        ] {
            assert!(matches!(store.load(&other), Loaded::SetAside(_)));
        }
        assert!(matches!(store.load(&binding()), Loaded::SignIn(_)));
    }

    #[test]
    fn unreadable_or_foreign_files_are_set_aside_not_fatal() {
        let dir = temp_dir("foreign");
        let store = TokenStore::File { dir: dir.clone() };
        write_new_private(&dir.join(FILE_NAME), b"{ not json").unwrap();
        assert!(matches!(store.load(&binding()), Loaded::SetAside(_)));
        fs::remove_file(dir.join(FILE_NAME)).unwrap();
        let future = serde_json::json!({
            "version": 2, "authority": "a", "tenant_id": "t", "client_id": "c",
            "account": { "tenant_id": "t", "object_id": "o", "username": "u" },
            "refresh_token": "rt"
        });
        write_new_private(&dir.join(FILE_NAME), future.to_string().as_bytes()).unwrap();
        let Loaded::SetAside(why) = store.load(&binding()) else {
            panic!("another version is set aside");
        };
        assert!(why.contains("version 2"), "{why}");
    }
}
