//! The rendered templates and manifests, compared with the files under tests/snapshots/.
//! A change shows as a diff here; accept it with `UPDATE_EXPECT=1 cargo test -p tests`.

use expect_test::expect_file;
use stacks::Format;
use stacks::webhook::{self, Stage};

fn yaml(stage: Stage) -> String {
    webhook::synth(stage).unwrap().render(Format::Yaml).unwrap()
}

#[test]
fn dev_template() {
    expect_file!["../snapshots/webhooks-dev.template.yaml"].assert_eq(&yaml(Stage::Dev));
}

#[test]
fn staging_template() {
    expect_file!["../snapshots/webhooks-staging.template.yaml"].assert_eq(&yaml(Stage::Staging));
}

#[test]
fn prod_template() {
    expect_file!["../snapshots/webhooks-prod.template.yaml"].assert_eq(&yaml(Stage::Prod));
}

#[test]
fn dev_asset_manifest() {
    let manifest = webhook::synth(Stage::Dev)
        .unwrap()
        .manifest()
        .to_json()
        .unwrap();
    expect_file!["../snapshots/webhooks-dev.assets.json"].assert_eq(&manifest);
}
