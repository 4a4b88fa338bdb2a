from django import forms

from .models import Message, Room


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name"]
        widgets = {"name": forms.TextInput(attrs={"placeholder": "ör. genel", "autofocus": True})}
        help_texts = {"name": "Küçük harf, rakam, - ve _."}

    def clean_name(self):
        # Slugs are case-sensitive in the database; "Genel" and "genel" would be two rooms.
        return self.cleaned_data["name"].lower()


def clean_message_text(text):
    """The text of a message sent over the websocket, or None when it cannot be stored."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    max_length = Message._meta.get_field("text").max_length
    return text if 0 < len(text) <= max_length else None
