//! One window, one static page: the floor Kovan's window is compared with.
fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the minimal app could not start its window");
}
