//! One unit of work: what a request changes, built up by the use case and committed once. It
//! owns the transaction's writes, the hourly limit charges that only committed work spends
//! (each with the refusal it answers when its counter has no room), the activity the change
//! records, and waking the outbox's dispatcher when the change queued a message. Every door
//! that does the same act builds the same unit (`usecases::invitations::send`), so a record
//! added once is written at every door.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::DomainError;
use crate::domain::{Caller, Id};
use crate::ports::store::{StoreError, Write, MAX_TRANSACTION_WRITES};
use crate::records::{activity, outbox};
use crate::usecases::limits::{self, Charges};
use chrono::{DateTime, Utc};

/// The change a request makes, committed by `commit`.
#[derive(Default)]
pub struct UnitOfWork {
    writes: Vec<Write>,
    charges: Charges,
    /// Activity records, two writes each (the item and the site's index entry).
    activity: Vec<[Write; 2]>,
}

impl UnitOfWork {
    pub fn new() -> UnitOfWork {
        UnitOfWork::default()
    }

    /// A write of the change, after those pushed before it (a door that tells failures apart
    /// by index pushes those writes first).
    pub fn push(&mut self, w: Write) {
        self.writes.push(w);
    }

    pub fn extend(&mut self, ws: impl IntoIterator<Item = Write>) {
        self.writes.extend(ws);
    }

    /// Counts the change against hourly limits: committed with it, or refused with it.
    pub fn charge(&mut self, charges: Charges) {
        self.charges = std::mem::take(&mut self.charges).and(charges);
    }

    /// Records `kind` by `user` in `company`'s activity log, from the caller's source.
    pub fn activity(
        &mut self,
        company: Id,
        user: Id,
        kind: ActivityType,
        caller: &Caller,
        now: DateTime<Utc>,
    ) {
        let source = Source::of(caller, false);
        self.activity.push(activity::record_in_site(
            company, user, kind, source, caller, None, now,
        ));
    }

    /// Commits the change, its charges and as much of its activity as fits in one transaction
    /// (at most `MAX_TRANSACTION_WRITES` writes): a counter with no room answers its refusal,
    /// any other failure `otherwise`'s answer, and nothing is written. Activity records that do
    /// not fit (a request that invites many addresses at once) follow in further transactions
    /// once the change is stored, as an account event's index entries do. The dispatcher is
    /// woken when the change queued a message.
    pub async fn commit(
        self,
        app: &App,
        otherwise: impl FnOnce(StoreError) -> DomainError,
    ) -> Result<(), DomainError> {
        let UnitOfWork {
            mut writes,
            charges,
            activity,
        } = self;
        let wakes = writes.iter().any(outbox::is_enqueued);
        let room = MAX_TRANSACTION_WRITES.saturating_sub(writes.len() + charges.charged());
        let fit = (room / 2).min(activity.len());
        let mut records = activity.into_iter();
        writes.extend(records.by_ref().take(fit).flatten());
        let rest: Vec<Write> = records.flatten().collect();
        limits::commit(app, writes, charges, otherwise).await?;
        for chunk in rest.chunks(MAX_TRANSACTION_WRITES) {
            if let Err(e) = app.store.transact(chunk.to_vec()).await {
                tracing::error!(error = %e, "activity records were not written");
            }
        }
        if wakes {
            app.outbox_written.notify_one();
        }
        Ok(())
    }
}
