//! A client written only from DVV's public material, with generic HTTP
//! and JSON (none of this project's crates): Basic and `X-Road-Client`,
//! `/kirjausavain/{date}`, `/perustiedot` in batches of 1000, `/muutokset`
//! until `ajanTasalla`; its register keeps DVV's group objects as they
//! came. As a municipality's system would have it, against `vtj serve` or
//! a county hub.

use std::collections::BTreeMap;

use serde_json::{json, Value};

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub user: String,
    pub password: String,
    pub xroad: String,
}

impl Client {
    async fn call(&self, req: reqwest::RequestBuilder) -> Value {
        let r = req
            .basic_auth(&self.user, Some(&self.password))
            .header("X-Road-Client", &self.xroad)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.unwrap()
    }

    pub async fn cursor_of(&self, day: &str) -> i64 {
        let v = self.call(self.http.get(format!("{}/kirjausavain/{day}", self.base))).await;
        v["viimeisinKirjausavain"].as_i64().unwrap()
    }

    /// The listed persons' data, at most 1000 hetus a call.
    pub async fn perustiedot(&self, hetus: &[String]) -> Vec<Value> {
        let mut out = Vec::new();
        for batch in hetus.chunks(1000) {
            let v = self
                .call(self.http.post(format!("{}/perustiedot", self.base)).json(&json!({ "hetulista": batch })))
                .await;
            out.extend(v["perustiedot"].as_array().unwrap().iter().cloned());
        }
        out
    }

    /// Changes after `cursor` until up to date; the new cursor.
    pub async fn muutokset(&self, mut cursor: i64, hetus: &[String], reg: &mut Register) -> i64 {
        loop {
            let body = json!({ "viimeisinKirjausavain": cursor, "hetulista": hetus });
            let v = self.call(self.http.post(format!("{}/muutokset", self.base)).json(&body)).await;
            for m in v["muutokset"].as_array().unwrap() {
                reg.apply(m);
            }
            cursor = v["viimeisinKirjausavain"].as_i64().unwrap();
            if v["ajanTasalla"].as_bool().unwrap() {
                return cursor;
            }
        }
    }
}

/// Per hetu, per group name, the group objects held; a corrected
/// hetu is remembered, since records come under the hetu listed.
#[derive(Default)]
pub struct Register {
    pub persons: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    pub list: Vec<String>,
    pub aliases: BTreeMap<String, String>,
}

fn stripped(g: &Value) -> Value {
    let mut g = g.clone();
    let o = g.as_object_mut().unwrap();
    o.remove("muutosattribuutti");
    o.remove("voimassaolevatTiedot");
    g
}

fn groups(record: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for g in record["tietoryhmat"].as_array().unwrap() {
        out.entry(g["tietoryhma"].as_str().unwrap().to_string()).or_default().push(g.clone());
    }
    out
}

impl Register {
    pub fn put(&mut self, record: &Value) {
        let held = groups(record).into_iter().map(|(k, v)| (k, v.iter().map(stripped).collect())).collect();
        self.persons.insert(record["henkilotunnus"].as_str().unwrap().to_string(), held);
    }

    pub fn apply(&mut self, record: &Value) {
        let mut hetu = record["henkilotunnus"].as_str().unwrap().to_string();
        if let Some(now) = self.aliases.get(&hetu) {
            hetu = now.clone();
        }
        let changed = groups(record);
        // A corrected hetu: keep the person, and list, under the new one.
        for g in changed.get("HENKILOTUNNUS_KORJAUS").into_iter().flatten() {
            let active = g["aktiivinenHenkilotunnus"].as_str().unwrap().to_string();
            if g["voimassaolo"] == "AKTIIVI" && active != hetu {
                if let Some(p) = self.persons.remove(&hetu) {
                    self.persons.insert(active.clone(), p);
                }
                for h in self.list.iter_mut().filter(|h| **h == hetu) {
                    *h = active.clone();
                }
                self.aliases.insert(hetu, active.clone());
                hetu = active;
            }
        }
        let person = self.persons.entry(hetu).or_default();
        for (name, instances) in changed {
            let removed = instances.iter().any(|g| g["muutosattribuutti"] == "POISTETTU");
            let ended = name == "TURVAKIELTO" && instances.iter().any(|g| g["turvakieltoAktiivinen"] == false);
            if removed || ended {
                person.remove(&name);
            } else {
                person.insert(name, instances.iter().map(stripped).collect());
            }
        }
    }
}
