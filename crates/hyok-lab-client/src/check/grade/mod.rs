//! Grading: what was seen becomes one verdict per tutorial task, without I/O.

mod chosen;
mod gateway;
mod identity;
mod storage;
mod vault;
mod verdicts;

use crate::check::{
    report::{Setup, TaskCheck},
    seen::Seen,
};
use chosen::choose;
use gateway::{task2, task3, task4, task5, task6, task7};
use identity::{task8, task9, task10, task11};
use storage::task17_18;
use vault::{task12, task13, task14, task15, task16};
use verdicts::Verdicts;

/// One verdict per tutorial task for what was seen, and the setup it was judged as. No I/O.
pub fn grade(s: &Seen) -> (Setup, Vec<TaskCheck>) {
    let c = choose(s);
    let mut v = Verdicts::new();
    v.done(1, "nothing to configure: the lab's world is the tutorial's architecture");
    task2(s, &mut v);
    let issued = task3(s, &c, &mut v);
    let imported = task4(s, &c, issued, &mut v);
    task5(s, &c, &mut v);
    task6(s, &c, imported, &mut v);
    task7(s, &c, &mut v);
    task8(s, &c, &mut v);
    task9(s, &c, &mut v);
    task10(s, &c, &mut v);
    task11(s, &mut v);
    task12(s, &c, &mut v);
    task13(&c, &mut v);
    task14(s, &c, &mut v);
    task15(&c, &mut v);
    task16(&c, &mut v);
    task17_18(s, &c, &mut v);
    (c.setup, v.into_tasks())
}
